"""One round of general-text self-alignment on the judging interface: prompts -> samples -> judge -> pairs.

Prompts come from any JSONL file or `datasets` source, one prompt per record: a `field` holding the text, or
chat `messages` whose last user turn is the prompt. The policy samples responses (other models join only when
`other_models` names them), the named judge turns them into `JudgedPair` records with per-pair confidence,
preference, margin and source, and optional self-refinement adds refined-vs-initial pairs. With the `sami`
loss the round writes SAMI records from the constitution file instead. Records are appended per prompt, so an
interrupted round resumes where it stopped.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codepref.model_judges import JUDGES, JudgeSettings, build_judge, judged_pairs
from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.refinement import refinement_pairs
from codepref.model_judges.sami import load_constitution, sami_records
from codepref.model_judges.sourcing import candidate_pool
from codepref.rank.judge import write_pairs
from codepref.records import RecordError, drop_torn_tail, read_jsonl, read_records
from codepref.settings import setting

RESPONSE_TOKENS = 128  # the default of the loop's text task and of `codepref judge`
REFINEMENT_SEED_OFFSET = 7919  # refinements sample with a seed of their own, apart from the round's samples


@dataclass
class PromptSource:
    path: str | None = None  # a JSONL file
    dataset: str | None = (
        None  # or a `datasets.load_dataset` name: a builder ("json", "parquet") or local dir
    )
    data_files: str | list[str] | None = None  # passed to load_dataset with `dataset`
    split: str = "train"
    field: str = "prompt"  # the prompt's field; records without it may hold chat `messages`
    limit: int | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.dataset is None):
            raise ValueError(
                "prompts: give exactly one of 'path' (a JSONL file) or 'dataset' (a datasets source)"
            )


@dataclass
class TextTaskSettings:
    prompts: PromptSource = setting(help="Where the prompts come from: {path: ...} or {dataset: ...}.")
    judge: str = setting("logit", "The judge that turns responses into pairs.", choices=JUDGES)
    members: list[str] = setting(
        help="consistency: the member judges that must agree.",
        default_factory=lambda: ["logit", "implicit_reward"],
    )
    beta: float = setting(0.1, "implicit_reward: the reward's beta.")
    k: int = setting(4, "self_rationalizing: rationales per candidate.", minimum=2)
    samples: int = setting(4, "Policy responses per prompt (pairs need two).", minimum=2)
    other_models: list[str] = setting(help="Mix in these models' responses (opt-in).", default_factory=list)
    pairs_per_prompt: int = setting(1, "At most this many pairs per prompt.", minimum=1)
    min_confidence: float = setting(0.0, "Drop pairs the judge is less confident of.", minimum=0, maximum=1)
    refinement: bool = setting(False, "Also pair each prompt's first sample against its self-refinement.")
    max_tokens: int = setting(RESPONSE_TOKENS, "Tokens per response.", minimum=1)
    temperature: float = setting(0.8, "Sampling temperature of the responses.")
    constitution: str | None = setting(
        None, "The sami loss: the principles file (codepref.model_judges.sami)."
    )

    def __post_init__(self) -> None:
        if isinstance(self.prompts, dict):
            self.prompts = PromptSource(**self.prompts)


def prompt_text(record: dict[str, Any], prompt_field: str, where: str) -> str:
    """The record's prompt: `prompt_field`, or the last user turn of chat `messages`."""
    if isinstance(record.get(prompt_field), str):
        return record[prompt_field]
    messages = record.get("messages")
    if isinstance(messages, list):
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    raise RecordError(f"{where}: needs a string field {prompt_field!r} or chat 'messages' with a user turn")


def load_prompts(source: PromptSource) -> list[str]:
    if source.path is not None:
        path = Path(source.path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such prompts file")
        prompts = [prompt_text(r, source.field, f"{path}:{n}") for n, r in read_records(path)]
    else:
        from datasets import load_dataset

        try:
            rows = load_dataset(source.dataset, data_files=source.data_files, split=source.split)
        except (FileNotFoundError, ValueError) as err:
            raise ValueError(f"prompts dataset {source.dataset!r}: {err}") from None
        prompts = [prompt_text(r, source.field, f"{source.dataset}[{i}]") for i, r in enumerate(rows)]
    return prompts[: source.limit] if source.limit is not None else prompts


def text_round(
    settings: TextTaskSettings,
    policy_path: str,
    reference_path: str,
    out_dir: str | Path,
    *,
    loss: str = "dpo",
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 8,
) -> dict[str, Any]:
    """Write OUT/pairs.jsonl for one round and return its summary (also in OUT/summary.json)."""
    judge_settings = JudgeSettings(
        name=settings.judge, beta=settings.beta, members=tuple(settings.members), k=settings.k, seed=seed
    )
    prompts = load_prompts(settings.prompts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs_path, progress_path = out / "pairs.jsonl", out / "progress.jsonl"
    for path in (pairs_path, progress_path):
        drop_torn_tail(path)
    done = {row.get("index") for row in read_jsonl(progress_path)}
    policy = JudgeModel(policy_path, device=device, batch_size=batch_size)
    if loss == "sami":
        return _sami_round(settings, policy, prompts, out, seed)
    uses_reference = "implicit_reward" in (judge_settings.name, *judge_settings.members)
    reference = JudgeModel(reference_path, device=device, batch_size=batch_size) if uses_reference else None
    others = {name: JudgeModel(name, device=device, batch_size=batch_size) for name in settings.other_models}
    judge = build_judge(judge_settings, policy, reference)
    refine_judge = judge.judges[0] if isinstance(judge, ConsistencyFilter) else judge
    for index, prompt in enumerate(prompts):
        if index in done:
            continue
        pool = candidate_pool(
            [prompt],
            policy,
            n=settings.samples,
            others=others,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            seed=seed + index,
        )[0]
        pairs = judged_pairs(
            judge,
            prompt,
            [r.text for r in pool],
            sources=[r.source for r in pool],
            pairs_per_prompt=settings.pairs_per_prompt,
            min_confidence=settings.min_confidence,
            task_id=str(index),
        )
        if settings.refinement:
            pairs += refinement_pairs(
                policy,
                [prompt],
                refine_judge,
                initial=[pool[0].text],
                max_tokens=settings.max_tokens,
                seed=seed + REFINEMENT_SEED_OFFSET + index,
                task_ids=[str(index)],
            )
        for pair in pairs:  # judges read the bare request; training needs the context the policy answered
            pair.prompt = policy.instruction(prompt)
        write_pairs(pairs, pairs_path, append=True)
        with progress_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"index": index, "pairs": len(pairs)}) + "\n")
    written = read_jsonl(pairs_path)
    summary: dict[str, Any] = {
        "prompts": len(prompts),
        "pairs": len(written),
        "judge": judge_settings.name,
        "pairs_by_source": dict(Counter(r.get("source") for r in written)),
        "pairs_by_kind": dict(Counter(r.get("kind") for r in written)),
        "mean_confidence": sum(r["confidence"] for r in written) / len(written) if written else None,
    }
    if isinstance(judge, ConsistencyFilter):
        summary["consistency"] = asdict(judge.report)  # this run's prompts (a resumed run counts the rest)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _sami_round(
    settings: TextTaskSettings, policy: Any, prompts: list[str], out: Path, seed: int
) -> dict[str, Any]:
    if settings.constitution is None:
        raise ValueError("the sami loss needs text.constitution: a principles file")
    records = sami_records(
        policy,
        prompts,
        load_constitution(settings.constitution),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=seed,
    )
    (out / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    summary = {
        "prompts": len(prompts),
        "pairs": len(records),
        "judge": "sami",
        "pairs_by_source": {"policy": len(records)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
