"""What a benchmark measures a loop's round with and the loop itself never sees: whether each of the
round's sampled solutions passes its problem's hidden tests (benchmarks/efficacy.py's oracle and pair
precision, benchmarks/trust_gate.py's sweeps)."""

from __future__ import annotations

import json

from codepref.evaluate.verdicts import hidden_verdicts
from codepref.generate import read_generations
from codepref.loop.code_loop import Loop
from codepref.tasks import Task, program


def round_verdicts(loop: Loop, r: int, tasks: list[Task]) -> dict[str, bool]:
    """Solution id (`TASK_KEY#i`, as the matrix names it) -> whether round `r`'s i-th sample of the task
    passes the hidden tests, judged in the loop's sandbox (inside `loop.session()`), kept in the round's
    generate folder so it is judged once."""
    generated = loop.runner.stage_dir(r, "generate")
    cache = generated / "hidden_verdicts.json"
    if cache.exists():
        return json.loads(cache.read_text())
    records = read_generations(generated / "solutions.jsonl")
    programs = [[program(t, loop.style, c["text"]) for c in records[t.key]["completions"]] for t in tasks]
    passed = hidden_verdicts([t.problem for t in tasks], programs, loop.sandbox())
    verdicts = {
        f"{task.key}#{i}": ok for task, per in zip(tasks, passed, strict=True) for i, ok in enumerate(per)
    }
    cache.write_text(json.dumps(verdicts))
    return verdicts
