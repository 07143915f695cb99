"""`codepref judge INPUT.jsonl --judge NAME --model M -o OUT`: preference pairs from a model judging responses.

INPUT holds one prompt a line: `prompt` (or chat `messages`, whose last user turn is the prompt), and either
`candidates` (a list of responses, optionally with a parallel `sources` list) or nothing, in which case the
policy samples `--samples` responses (plus `--other-samples` from each `--other-model`, only when given).
OUT/pairs.jsonl gets `JudgedPair` records (prompt/chosen/rejected in TRL's format, plus judge, preference,
confidence, margin, source), written per prompt; a rerun resumes after the last finished prompt
(OUT/progress.jsonl). `--judge self_rationalizing` also writes the judge's own training pairs to
OUT/judge_pairs.jsonl. OUT/summary.json counts the pairs by source and, for `consistency`, how many each member
judge alone would have kept.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from codepref.model_judges import JudgeSettings, build_judge, judged_pairs
from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.self_rationalizing import SelfRationalizingJudge
from codepref.model_judges.sourcing import candidate_pool
from codepref.model_judges.text_task import RESPONSE_TOKENS, prompt_text
from codepref.rank.judge import write_pairs
from codepref.records import RecordError, drop_torn_tail, read_jsonl, read_records

console = Console(stderr=True, soft_wrap=True)


def judge_command(
    input_path: Annotated[Path, typer.Argument(help="JSONL of prompts, with or without candidate responses")],
    model: Annotated[str, typer.Option("--model", help="The policy model (also the judge for self-judges).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    judge: Annotated[
        str,
        typer.Option(
            "--judge", help="logit, self_reference, implicit_reward, self_rationalizing or consistency."
        ),
    ] = "logit",
    reference_model: Annotated[
        str | None, typer.Option("--reference-model", help="Reference policy (implicit_reward).")
    ] = None,
    members: Annotated[
        str, typer.Option("--members", help="consistency: comma-separated member judges.")
    ] = "logit,implicit_reward",
    beta: Annotated[float, typer.Option("--beta", help="implicit_reward: the DPO beta.")] = 0.1,
    k: Annotated[int, typer.Option("--k", help="self_rationalizing: judgments per candidate.")] = 4,
    samples: Annotated[
        int, typer.Option("--samples", help="Policy samples per prompt without candidates.")
    ] = 4,
    other_model: Annotated[
        list[str] | None, typer.Option("--other-model", help="Mix in this model's responses (repeatable).")
    ] = None,
    other_samples: Annotated[
        int, typer.Option("--other-samples", help="Samples per prompt from each other model.")
    ] = 1,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", help="Tokens per sampled response.")
    ] = RESPONSE_TOKENS,
    pairs_per_prompt: Annotated[
        int, typer.Option("--pairs-per-prompt", help="Most pairs kept per prompt.")
    ] = 1,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", help="Drop pairs judged less confidently.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences per forward pass.")] = 8,
) -> None:
    """Judge responses with a model and write preference pairs with per-pair confidence and source."""
    try:
        settings = JudgeSettings(
            name=judge,
            beta=beta,
            members=tuple(m.strip() for m in members.split(",") if m.strip()),
            k=k,
            seed=seed,
        )
        if not input_path.exists():
            raise ValueError(f"{input_path}: no such file")
        records = [(f"{input_path}:{n}", r) for n, r in read_records(input_path)]
        prompts = [prompt_text(r, "prompt", where) for where, r in records]
        for where, record in records:
            if "candidates" in record and not (
                isinstance(record["candidates"], list)
                and all(isinstance(c, str) for c in record["candidates"])
            ):
                raise RecordError(f"{where}: field 'candidates' must be a list of strings")
            if "sources" in record and not (
                isinstance(record["sources"], list)
                and len(record["sources"]) == len(record.get("candidates", ()))
            ):
                raise RecordError(f"{where}: field 'sources' must be a list with one entry per candidate")
        needs_reference = judge == "implicit_reward" or (
            judge == "consistency" and "implicit_reward" in settings.members
        )
        if needs_reference and reference_model is None:
            raise ValueError("--reference-model is needed by the implicit_reward judge")
    except (ValueError, OSError) as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        raise typer.Exit(2) from None

    out.mkdir(parents=True, exist_ok=True)
    progress_path, pairs_path = out / "progress.jsonl", out / "pairs.jsonl"
    done = {row.get("index") for row in read_jsonl(progress_path)}
    for path in (progress_path, pairs_path, out / "judge_pairs.jsonl"):
        drop_torn_tail(path)
    policy = JudgeModel(model, device=device, batch_size=batch_size)
    reference = JudgeModel(reference_model, device=device, batch_size=batch_size) if needs_reference else None
    others = {name: JudgeModel(name, device=device, batch_size=batch_size) for name in other_model or []}
    the_judge = build_judge(settings, policy, reference)
    written = 0
    for index, ((_, record), prompt) in enumerate(zip(records, prompts, strict=True)):
        if index in done:
            continue
        if "candidates" in record:
            candidates = record["candidates"]
            sources = record.get("sources") or ["policy"] * len(candidates)
        else:
            pool = candidate_pool(
                [prompt],
                policy,
                n=samples,
                others=others,
                n_other=other_samples,
                max_tokens=max_tokens,
                seed=seed + index,
            )[0]
            candidates, sources = [r.text for r in pool], [r.source for r in pool]
        task_id = str(record.get("task_id", index))
        pairs = judged_pairs(
            the_judge,
            prompt,
            candidates,
            sources=sources,
            pairs_per_prompt=pairs_per_prompt,
            min_confidence=min_confidence,
            task_id=task_id,
        )
        if "candidates" not in record:  # sampled here: train on the context the policy answered
            for pair in pairs:
                pair.prompt = policy.instruction(prompt)
        write_pairs(pairs, pairs_path, append=True)
        if isinstance(the_judge, SelfRationalizingJudge):
            write_pairs(
                the_judge.rationale_pairs(prompt, candidates, task_id=task_id),
                out / "judge_pairs.jsonl",
                append=True,
            )
        written += len(pairs)
        with progress_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"index": index, "pairs": len(pairs)}) + "\n")
    # Counted from the file, so a resumed run reports the pairs of earlier runs too.
    by_source = Counter(row.get("source", "?") for row in read_jsonl(pairs_path))
    summary: dict[str, Any] = {"judge": settings.name, "pairs_by_source": dict(by_source)}
    if isinstance(the_judge, ConsistencyFilter):
        summary["consistency"] = vars(the_judge.report)
        console.print(the_judge.report.as_line(), highlight=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(f"{written} pairs from {len(records) - len(done)} prompts -> {pairs_path}", highlight=False)
