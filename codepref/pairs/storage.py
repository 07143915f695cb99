"""Pair output: an OUT directory with `pairs.jsonl` / `pairs.parquet` in TRL's preference format (prompt,
chosen, rejected + metadata) and `kto.jsonl` / `kto.parquet` in TRL's unpaired format (prompt, completion,
label). Pairs are appended per problem and flushed; a rerun with the same settings resumes after the last
finished problem (`progress.jsonl`). `training_rows` turns pairs into the rows the trainer reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codepref.matrix.format import ExecutionMatrix
from codepref.pairs.config import PairConfig
from codepref.pairs.fallback import executability_pairs
from codepref.pairs.selection import PreferencePair, pairs_for_problem
from codepref.pairs.timing import SandboxTimer, Timer
from codepref.rank.dstc import concatenate
from codepref.rank.ranked import RankedProblem
from codepref.records import append_record, read_jsonl, write_jsonl

PAIR_COLUMNS = tuple(PreferencePair.__dataclass_fields__)
KTO_COLUMNS = ("prompt", "completion", "label", "method", "task_id", "kind", "score")


def kto_rows(pairs: Iterable[PreferencePair]) -> list[dict[str, Any]]:
    """TRL's unpaired format: each pair's chosen side labelled True, rejected side False, once per text."""
    rows, seen = [], set()
    for pair in pairs:
        for completion, label, score in (
            (pair.chosen, True, pair.chosen_score),
            (pair.rejected, False, pair.rejected_score),
        ):
            key = (pair.task_id, pair.kind, completion, label)
            if key in seen:
                continue
            seen.add(key)
            rows.append({
                "prompt": pair.prompt, "completion": completion, "label": label, "method": pair.method,
                "task_id": pair.task_id, "kind": pair.kind, "score": score,
            })  # fmt: skip
    return rows


class PairStore:
    """OUT directory: pairs appended per problem (flushed), progress recorded, parquet and KTO on finish."""

    def __init__(self, out_dir: Path, config: PairConfig) -> None:
        self.out_dir = out_dir
        self.pairs_path = out_dir / "pairs.jsonl"
        self.progress_path = out_dir / "progress.jsonl"
        self.config_path = out_dir / "config.json"
        out_dir.mkdir(parents=True, exist_ok=True)
        settings = json.dumps(asdict(config), sort_keys=True)
        if self.config_path.exists() and self.config_path.read_text() != settings:
            raise ValueError(
                f"{out_dir} holds pairs made with other settings ({self.config_path}); use a new -o"
            )
        self.config_path.write_text(settings)
        self.done = {row["task_id"] for row in read_jsonl(self.progress_path)}
        # Drop pairs of a problem that was being written when a previous run stopped.
        write_jsonl(
            self.pairs_path, [row for row in read_jsonl(self.pairs_path) if row["task_id"] in self.done]
        )
        write_jsonl(self.progress_path, read_jsonl(self.progress_path))  # without a torn tail

    def add(self, task_id: str, pairs: list[PreferencePair]) -> None:
        with self.pairs_path.open("a", encoding="utf-8") as handle:
            for pair in pairs:
                append_record(handle, asdict(pair))
        with self.progress_path.open("a", encoding="utf-8") as handle:
            append_record(handle, {"task_id": task_id, "pairs": len(pairs)})
        self.done.add(task_id)

    def finish(self) -> dict[str, int]:
        """Write pairs.parquet, kto.jsonl and kto.parquet from everything in pairs.jsonl."""
        import pandas as pd

        pairs = read_pairs(self.out_dir)
        frame = pd.DataFrame([asdict(p) for p in pairs], columns=list(PAIR_COLUMNS))
        frame.to_parquet(self.out_dir / "pairs.parquet", index=False)
        kto = kto_rows(pairs)
        write_jsonl(self.out_dir / "kto.jsonl", kto)
        pd.DataFrame(kto, columns=list(KTO_COLUMNS)).to_parquet(self.out_dir / "kto.parquet", index=False)
        return {
            "problems": len(self.done),
            "pairs": len(pairs),
            "kto_rows": len(kto),
            "fallback_pairs": sum(p.kind == "executability" for p in pairs),
        }


def write_pairs(
    matrices: Iterable[ExecutionMatrix],
    rankings: dict[str, RankedProblem],
    out_dir: Path,
    config: PairConfig,
    *,
    sandbox: Any = None,
    timer: Timer | None = None,
    progress: Callable[[Iterable[ExecutionMatrix]], Iterator[ExecutionMatrix]] | None = None,
) -> dict[str, int]:
    """Pairs for every ranked matrix into `out_dir`, resuming after the problems already done there.

    `sandbox` serves the efficiency timer (unless `timer` is given) and the executability fallback.
    """
    store = PairStore(out_dir, config)
    if config.efficiency and timer is None and sandbox is not None:
        timer = SandboxTimer(sandbox)
    for matrix in progress(matrices) if progress else matrices:
        if matrix.task_id in store.done:
            continue
        ranked = rankings[matrix.task_id]
        pairs = pairs_for_problem(matrix, ranked, config, timer)
        if not pairs and config.fallback == "executability" and not ranked.has_signal:
            if sandbox is None:
                raise ValueError("the executability fallback needs a sandbox")
            pairs = executability_pairs(matrix, sandbox, config.pairs_per_problem)
        store.add(matrix.task_id, pairs)
    return store.finish()


def read_pairs(out_dir: Path) -> list[PreferencePair]:
    """The pairs `write_pairs` put in `out_dir`."""
    return [PreferencePair(**row) for row in read_jsonl(out_dir / "pairs.jsonl")]


@dataclass
class ChatSamples:
    """A problem's chat prompt and whole sampled answers, in the order of its matrix's solutions."""

    prompt: str
    answers: list[str]


def training_rows(
    pairs: Iterable[PreferencePair], chat: dict[str, ChatSamples] | None = None
) -> list[dict[str, Any]]:
    """TRL preference rows. Completion style (`chat` None) trains on exactly what ran (prompt, cut
    completion); chat style on the model's own chat prompt and whole answers. A DSTC side keeps its test
    after the answer in both styles."""
    rows = []
    for pair in pairs:
        row = asdict(pair)
        if chat is not None:
            samples = chat[pair.task_id]
            row["prompt"] = samples.prompt
            for side in ("chosen", "rejected"):
                answer = samples.answers[row[f"{side}_index"]]
                test = row[f"{side}_test"]
                row[side] = concatenate(answer, test) if test else answer
        rows.append(row)
    return rows


def chat_samples(generations: dict[str, dict[str, Any]]) -> dict[str, ChatSamples]:
    """Chat prompts and whole answers by task key (what chat-style training rows are made of)."""
    return {
        key: ChatSamples(prompt=record["prompt"], answers=[c["text"] for c in record["completions"]])
        for key, record in generations.items()
    }
