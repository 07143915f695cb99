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
from codepref.evaluate.harness import evaluate_samples
from codepref.generate import GenerationRequest
from codepref.generate.hf import HFGenerator
from codepref.generate.sampling import sample_problems
from codepref.matrix import collect_tests
from codepref.matrix.accuracy import generated_test_accuracy
from codepref.sandbox import Sandbox
from codepref.synth import load_synth


def sample(generator, problems, out: Path, n: int, temperature: float, tests: bool, max_tokens: int) -> dict:
    """task_id -> completions of each solution prompt, or test prompt with `tests` (resumable)."""
    request = GenerationRequest(
        prompts=(), n=n, temperature=temperature, top_p=0.95, max_tokens=max_tokens, seed=0
    )
    return sample_problems(generator, problems, out, request, tests=tests)


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
    asserts = [collect_tests(tests[p.task_id], p.entry_point).tests for p in problems]
    with Sandbox(backend="process", workers=workers) as sandbox:
        accuracy = generated_test_accuracy(problems, asserts, sandbox)
    return {
        "distinct_asserts": accuracy.asserts,
        "test_accuracy": accuracy.share,
        "problems_with_asserts": accuracy.problems,
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
    greedy = sample(generator, problems, out / "greedy.jsonl", 1, 0.0, False, 96)
    figures["greedy"] = pass_at_k(benchmark, problems, greedy, out / "greedy.jsonl", [1], args.workers)
    sampled = sample(generator, problems, out / "sampled.jsonl", 10, 0.8, False, 96)
    figures["sampled"] = pass_at_k(benchmark, problems, sampled, out / "sampled.jsonl", [1, 10], args.workers)
    tests = sample(generator, problems, out / "tests.jsonl", 4, 0.8, True, 128)
    figures["tests"] = test_accuracy(problems, tests, args.workers)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    (out / "calibration.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
