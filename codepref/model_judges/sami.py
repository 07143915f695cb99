"""SAMI's training records from a constitution file: responses sampled under principles and under their
antitheses, for the `sami` loss (`codepref.train.losses.sami_loss`).

A constitution is a YAML file:

    principles:
      - text: "Answer the question that was asked, correctly."
        antithesis: "Answer a different question, or answer wrongly."

Per prompt, a seeded draw picks `per_record` principles; the record's `prompt` is the request under those
principles and its `counter_prompt` the same request under their antitheses; `chosen` is sampled under the
first and `rejected` under the second (the names only say which side each response was sampled on; the loss
treats the two symmetrically, as a 2 x 2 principles x responses InfoNCE).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codepref.model_judges.lm import JudgeModel


@dataclass(frozen=True)
class Principle:
    text: str
    antithesis: str


def load_constitution(path: str | Path) -> list[Principle]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the constitution ({err})") from None
    entries = data.get("principles") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list under 'principles'")
    principles = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("text", "antithesis")
        ):
            raise ValueError(f"{path}: principles[{number}] needs string fields 'text' and 'antithesis'")
        principles.append(Principle(entry["text"], entry["antithesis"]))
    return principles


def under_principles(principles: Sequence[str], prompt: str) -> str:
    rules = "\n".join(f"- {p}" for p in principles)
    return f"Follow these principles in your answer:\n{rules}\n\n{prompt}"


def sami_records(
    model: JudgeModel,
    prompts: Sequence[str],
    constitution: Sequence[Principle],
    *,
    per_record: int | None = None,
    max_tokens: int = 256,
    temperature: float = 0.8,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One record per prompt: prompt / counter_prompt and a response sampled under each."""
    rng = random.Random(seed)
    count = len(constitution) if per_record is None else max(1, min(per_record, len(constitution)))
    drawn = [rng.sample(list(constitution), count) for _ in prompts]
    contexts = [
        model.instruction(under_principles([p.text for p in d], x))
        for d, x in zip(drawn, prompts, strict=True)
    ]
    counters = [
        model.instruction(under_principles([p.antithesis for p in d], x))
        for d, x in zip(drawn, prompts, strict=True)
    ]
    sampled = model.sample(contexts + counters, max_tokens=max_tokens, temperature=temperature, seed=seed)
    half = len(prompts)
    return [
        {
            "prompt": contexts[i],
            "counter_prompt": counters[i],
            "chosen": sampled[i][0],
            "rejected": sampled[half + i][0],
            "principles": [p.text for p in drawn[i]],
        }
        for i in range(half)
    ]
