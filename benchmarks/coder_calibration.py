"""Where the synth coder stands: pass@k of its solutions and accuracy of its tests on one synth split.

Samples solutions (greedy, and T=0.8 with n=10) with the loop's completion prompts, scores them with
`codepref eval`'s runner in the sandbox against the hidden tests, and samples CodeT-style tests whose
asserts are run against the canonical solutions (a test is right when the canonical solution passes it).
Calibrate on `validation`; `heldout` is for reporting only.

    python benchmarks/coder_calibration.py --split validation [--recipe cpu] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from codepref.coder import RECIPES, cached_coder
from codepref.evaluate.runner import evaluate_samples
from codepref.generate import GenerationRequest, PromptRecord, generate_jsonl
from codepref.generate.hf import HFGenerator
from codepref.matrix import extract_tests
from codepref.sandbox import Job, Sandbox
from codepref.synth import load_synth
from codepref.tasks.extract import truncate_at_stop
from codepref.tasks.prompts import codet_test_prompt, solution_prompt


def sample(generator, problems, out: Path, n: int, temperature: float, kind: str, max_tokens: int) -> dict:
    """key -> completions; `kind` is "solution" or "test" (resumable through generate_jsonl)."""
    build = solution_prompt if kind == "solution" else codet_test_prompt
    prompts = {p.task_id: build(p.prompt, p.entry_point) for p in problems}
    records = [PromptRecord(key=k, prompt=v.text, stop=v.stop) for k, v in prompts.items()]
    request = GenerationRequest(
        prompts=(), n=n, temperature=temperature, top_p=0.95, max_tokens=max_tokens, seed=0
    )
    generate_jsonl(generator, records, out, request, chunk_size=64)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {
        r["key"]: [truncate_at_stop(c["text"], prompts[r["key"]].stop)[0] for c in r["completions"]]
        for r in rows
    }


def pass_at_k(benchmark: str, problems, completions: dict, out: Path, ks: list[int], workers: int) -> dict:
    samples = out.with_suffix(".eval.jsonl")
    samples.write_text(
        "".join(
            json.dumps({"task_id": p.task_id, "completion": c}) + "\n"
            for p in problems
            for c in completions[p.task_id]
        )
    )
    report = evaluate_samples(benchmark, samples, ks=ks, workers=workers, backend="process", progress=False)
    print(f"  codepref eval {benchmark} {samples} -k {','.join(map(str, ks))}  ->  {report.scores}")
    return report.scores


def test_accuracy(problems, tests: dict, workers: int) -> dict:
    by_id = {p.task_id: p for p in problems}
    jobs = []
    for task_id, texts in tests.items():
        asserts = list(
            dict.fromkeys(t for text in texts for t in extract_tests(text, by_id[task_id].entry_point))
        )
        if asserts:
            jobs.append(
                Job(
                    program=by_id[task_id].reference_program,
                    tests=tuple(asserts),
                    as_main=False,
                    test_timeout_s=1.0,
                )
            )
    with Sandbox(backend="process", workers=workers) as sandbox:
        outcomes = [t.status == "passed" for v in sandbox.run_many(jobs) for t in v.tests]
    return {
        "distinct_asserts": len(outcomes),
        "test_accuracy": sum(outcomes) / len(outcomes) if outcomes else float("nan"),
        "problems_with_asserts": len(jobs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=("validation", "heldout", "train"), default="validation")
    parser.add_argument("--recipe", choices=tuple(RECIPES), default="cpu")
    parser.add_argument(
        "--model", type=Path, default=None, help="a model folder (default: the recipe's build)"
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-o", "--out", type=Path, default=Path("benchmarks/out/coder-calibration"))
    args = parser.parse_args()
    model = str(args.model or cached_coder(RECIPES[args.recipe]))
    benchmark = f"synth-{args.split}"
    problems = load_synth(benchmark)[: args.limit]
    out = args.out / f"{Path(model).name}-{args.split}"
    out.mkdir(parents=True, exist_ok=True)
    generator = HFGenerator(model, batch_size=160)  # a 2M-parameter model: wide batches, fewer decode steps
    started = time.perf_counter()
    figures: dict = {"model": model, "split": benchmark, "problems": len(problems)}
    greedy = sample(generator, problems, out / "greedy.jsonl", 1, 0.0, "solution", 96)
    figures["greedy"] = pass_at_k(benchmark, problems, greedy, out / "greedy.jsonl", [1], args.workers)
    sampled = sample(generator, problems, out / "sampled.jsonl", 10, 0.8, "solution", 96)
    figures["sampled"] = pass_at_k(benchmark, problems, sampled, out / "sampled.jsonl", [1, 10], args.workers)
    tests = sample(generator, problems, out / "tests.jsonl", 4, 0.8, "test", 128)
    figures["tests"] = test_accuracy(problems, tests, args.workers)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    (out / "calibration.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
