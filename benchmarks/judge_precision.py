"""Text judges as pickers of correct code, measured where the truth is known (hidden tests), next to the
execution rankers, in one run under the same samples.

On `--problems` training problems (synth-train after the coder's SFT range, by default) the model samples
`--samples` solutions each; the hidden tests say which are correct (the judges never see them). Every judge
then makes at most one pair per problem from the same samples:

  * execution:codet / execution:codedpo: the ranker on the model's own sampled tests (CodeT-style prompts);
  * logit, self_reference, self_rationalizing: the model judging its own samples;
  * consistency: logit and execution:codet must agree;
  * implicit_reward: the policy after one DPO round on execution:codet's pairs against the starting model;
  * random: two distinct samples in random order (the control).

Per judge: pairs made, precision (chosen passes the hidden tests, rejected fails), coverage (problems where
it made a correct pair, over problems that have both a passing and a failing sample), and the consistency
filter's keep counts. Then one DPO round each on the pairs of the most precise text judge and of the most
precise execution ranker (same settings), and greedy pass@1 of base and both trained models on
`--heldout` held-out problems. Choosing "most precise" uses the training problems only.

    python benchmarks/judge_precision.py --json judge_precision.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from codepref.evaluate.verdicts import hidden_verdicts
from codepref.generate import GenerationRequest, Generator
from codepref.generate.sampling import sample_problems
from codepref.matrix import SandboxMatrixBuilder
from codepref.matrix.extraction import DEFAULT_TEST_TIMEOUT_S, extract_tests
from codepref.model_judges import JudgeSettings, build_judge, judged_pairs
from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.logit import LogitSelfJudge
from codepref.model_judges.self_rationalizing import SelfRationalizingJudge
from codepref.model_judges.self_reference import SelfReferenceJudge
from codepref.pairs.baselines import random_pairs
from codepref.rank.judge import ExecutionJudge, JudgedPair, write_pairs
from codepref.tasks.problem import Problem

TEXT_JUDGES = ("logit", "self_reference", "self_rationalizing", "consistency", "implicit_reward")
EXECUTION_JUDGES = ("execution:codet", "execution:codedpo")


def load_benchmark(name: str, offset: int, limit: int) -> list[Problem]:
    if name.startswith("synth-"):
        from codepref.synth import load_synth

        problems = load_synth(name)
    else:
        from codepref.data import load_problems

        problems = load_problems(name)
    return problems[offset : offset + limit]


def fresh_samples(
    generator: Generator, problems: list[Problem], out: Path, request: GenerationRequest, tests: bool = False
) -> list[list[str]]:
    """Each problem's completions (`codepref.generate.sampling`), sampled anew into `out` every run, as the
    judges judge anew."""
    out.unlink(missing_ok=True)
    sampled = sample_problems(generator, problems, out, request, tests=tests)
    return [sampled[p.task_id] for p in problems]


def sample_bodies(
    generator: Generator,
    problems: list[Problem],
    out: Path,
    n: int,
    temperature: float,
    max_tokens: int,
    seed: int,
) -> list[list[str]]:
    """Completion-style solutions, cut at the prompt's stops (the body that follows the prompt)."""
    request = GenerationRequest(prompts=(), n=n, temperature=temperature, max_tokens=max_tokens, seed=seed)
    return fresh_samples(generator, problems, out, request)


def sampled_tests(
    generator: Generator, problems: list[Problem], out: Path, n: int, max_tokens: int, seed: int
) -> dict[str, list[str]]:
    request = GenerationRequest(prompts=(), n=n, temperature=0.8, max_tokens=max_tokens, seed=seed)
    sampled = fresh_samples(generator, problems, out, request, tests=True)
    return {
        problem.prompt: [t for text in per for t in extract_tests(text, problem.entry_point)]
        for problem, per in zip(problems, sampled, strict=True)
    }


def hidden_truth(
    sandbox: Any, problems: list[Problem], bodies: list[list[str]]
) -> dict[tuple[str, str], bool]:
    """(prompt, body) -> passes the problem's hidden tests."""
    programs = [[p.program(b) for b in per] for p, per in zip(problems, bodies, strict=True)]
    return {
        (problem.prompt, body): ok
        for problem, per, oks in zip(
            problems, bodies, hidden_verdicts(problems, programs, sandbox), strict=True
        )
        for body, ok in zip(per, oks, strict=True)
    }


def control_pairs(problems: list[Problem], bodies: list[list[str]], seed: int) -> list[JudgedPair]:
    """The random control (`codepref.pairs.baselines`): one pair of two distinct samples per problem."""
    rng = random.Random(seed)
    return [
        JudgedPair(
            problem.prompt, pair.chosen, pair.rejected, "random", 0.5, 0.0, 0.0, task_id=problem.task_id
        )
        for problem, per in zip(problems, bodies, strict=True)
        for pair in random_pairs(problem.task_id, problem.prompt, per, rng, 1)
    ]


def measure(
    pairs: list[JudgedPair], truth: dict[tuple[str, str], bool], separable: set[str]
) -> dict[str, Any]:
    right = [truth[(p.prompt, p.chosen)] and not truth[(p.prompt, p.rejected)] for p in pairs]
    covered = {p.prompt for p, ok in zip(pairs, right, strict=True) if ok}
    return {
        "pairs": len(pairs),
        "precision": sum(right) / len(right) if right else None,
        "coverage": len(covered & separable) / len(separable) if separable else None,
    }


def train_round(pairs: list[JudgedPair], model_path: str, out: Path, steps: int, seed: int) -> str | None:
    """The model after one DPO round on `pairs` (None without pairs); reused when already trained."""
    from codepref.loop.config import default_config
    from codepref.train.config import TrainConfig
    from codepref.train.trainer import train

    if not pairs:
        return None
    if (out / "model.safetensors").exists():
        return str(out)
    write_pairs(pairs, out.parent / f"{out.name}-pairs.jsonl")
    cfg = TrainConfig(
        loss="dpo",
        # The loop's learning rate, chosen on synth-validation (README, "Choosing the learning rate").
        learning_rate=default_config().train.learning_rate,
        max_steps=steps,
        batch_size=4,
        warmup_steps=0,
        lr_scheduler_type="constant",
        seed=seed,
    )
    train(out.parent / f"{out.name}-pairs.jsonl", model_path, out, cfg)
    return str(out)


def heldout_pass1(
    model_path: str | None, problems: list[Problem], sandbox: Any, max_tokens: int, out: Path
) -> float | None:
    if model_path is None:
        return None
    model = JudgeModel(model_path, batch_size=16)
    bodies = sample_bodies(model.generator, problems, out, 1, 0.0, max_tokens, 0)
    model.generator.close()
    truth = hidden_truth(sandbox, problems, bodies)
    return sum(truth[(p.prompt, b[0])] for p, b in zip(problems, bodies, strict=True)) / len(problems)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model directory (default: the synth coder, built on first use)")
    parser.add_argument("--benchmark", default="synth-train")
    parser.add_argument(
        "--offset", type=int, default=2000, help="first problem (the coder's SFT used those before)"
    )
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument(
        "--tests", type=int, default=4, help="test samples per problem for the execution rankers"
    )
    parser.add_argument("--heldout-benchmark", default="synth-heldout")
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--critique-tokens", type=int, default=48, help="self_reference / self_rationalizing")
    parser.add_argument("--judge-candidates", type=int, default=4, help="distinct samples every judge sees")
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="runs/judge_precision")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    from codepref.sandbox import Sandbox

    if args.model is None:
        from codepref.coder import cached_coder

        args.model = str(cached_coder())
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    problems = load_benchmark(args.benchmark, args.offset, args.problems)
    heldout = load_benchmark(args.heldout_benchmark, 0, args.heldout)
    started = time.perf_counter()
    results: dict[str, Any] = {"settings": vars(args), "judges": {}}
    with Sandbox(workers=2) as sandbox:
        policy = JudgeModel(args.model, batch_size=16)
        sampled = sample_bodies(
            policy.generator, problems, work / "samples.jsonl", args.samples, 0.8, args.max_tokens, args.seed
        )
        bodies = [
            list(dict.fromkeys(per))[: args.judge_candidates] for per in sampled
        ]  # equal for every judge
        truth = hidden_truth(sandbox, problems, bodies)
        separable = {
            p.prompt for p, per in zip(problems, bodies, strict=True)
            if len({truth[(p.prompt, b)] for b in per}) == 2
        }  # fmt: skip
        results["sample_pass_rate"] = sum(truth.values()) / len(truth)
        results["separable_problems"] = len(separable)
        tests = sampled_tests(
            policy.generator, problems, work / "tests.jsonl", args.tests, args.max_tokens, args.seed
        )
        builder = SandboxMatrixBuilder(sandbox, test_timeout_s=DEFAULT_TEST_TIMEOUT_S)
        judges: dict[str, Any] = {
            name: ExecutionJudge(name.split(":")[1], builder, tests) for name in EXECUTION_JUDGES
        }
        judges["logit"] = LogitSelfJudge(policy)
        judges["self_reference"] = SelfReferenceJudge(
            policy, reference_tokens=args.max_tokens, critique_tokens=args.critique_tokens, seed=args.seed
        )
        judges["self_rationalizing"] = SelfRationalizingJudge(
            policy, k=3, rationale_tokens=args.critique_tokens, seed=args.seed
        )
        judges["consistency"] = ConsistencyFilter([judges["logit"], judges["execution:codet"]])
        all_pairs: dict[str, list[JudgedPair]] = {"random": control_pairs(problems, bodies, args.seed)}
        for name, judge in judges.items():
            t0 = time.perf_counter()
            all_pairs[name] = [
                pair for problem, per in zip(problems, bodies, strict=True)
                if not (isinstance(judge, ExecutionJudge) and not tests[problem.prompt])  # no tests: no verdict
                for pair in judged_pairs(judge, problem.prompt, per, task_id=problem.task_id)
            ]  # fmt: skip
            results["judges"][name] = {
                **measure(all_pairs[name], truth, separable),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(f"{name}: {results['judges'][name]}", file=sys.stderr)
        results["judges"]["random"] = measure(all_pairs["random"], truth, separable)
        results["consistency_report"] = asdict(judges["consistency"].report)

        # The implicit reward of the policy after one round on execution:codet's pairs.
        codet_model = train_round(
            all_pairs["execution:codet"], args.model, work / "execution-codet", args.train_steps, args.seed
        )
        all_pairs["implicit_reward"] = []
        if codet_model is not None:
            implicit = build_judge(
                JudgeSettings(name="implicit_reward", seed=args.seed),
                JudgeModel(codet_model, batch_size=16),
                policy,
            )
            all_pairs["implicit_reward"] = [
                pair for problem, per in zip(problems, bodies, strict=True)
                for pair in judged_pairs(implicit, problem.prompt, per, task_id=problem.task_id)
            ]  # fmt: skip
        results["judges"]["implicit_reward"] = {
            **measure(all_pairs["implicit_reward"], truth, separable),
            "note": "in-sample: the round trained on these problems' execution:codet pairs",
        }

        def precision(name: str) -> float:
            value = results["judges"][name]["precision"]
            return -1.0 if value is None else value

        best_text = max((j for j in TEXT_JUDGES if j != "implicit_reward"), key=precision)
        best_execution = max(EXECUTION_JUDGES, key=precision)
        text_model = train_round(
            all_pairs[best_text], args.model, work / f"text-{best_text}", args.train_steps, args.seed
        )
        execution_model = train_round(
            all_pairs[best_execution],
            args.model,
            work / best_execution.replace(":", "-"),
            args.train_steps,
            args.seed,
        )
        results["heldout_pass@1"] = {
            "base": heldout_pass1(args.model, heldout, sandbox, args.max_tokens, work / "heldout-base.jsonl"),
            f"after one round, {best_text}": heldout_pass1(
                text_model, heldout, sandbox, args.max_tokens, work / "heldout-text.jsonl"
            ),
            f"after one round, {best_execution}": heldout_pass1(
                execution_model, heldout, sandbox, args.max_tokens, work / "heldout-execution.jsonl"
            ),
        }
    results["seconds"] = round(time.perf_counter() - started, 1)
    print_table(results)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2) + "\n")


def print_table(results: dict[str, Any]) -> None:
    def cell(value: Any) -> str:
        return "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    print("| judge | pairs | precision | coverage |\n| --- | --- | --- | --- |")
    for name, row in results["judges"].items():
        print(f"| {name} | {row['pairs']} | {cell(row['precision'])} | {cell(row['coverage'])} |")
    print(
        f"\nsample pass rate {cell(results['sample_pass_rate'])}, separable problems {results['separable_problems']}"
    )
    print(f"consistency filter: {results['consistency_report']}")
    for label, value in results["heldout_pass@1"].items():
        print(f"held-out greedy pass@1, {label}: {cell(value)}")


if __name__ == "__main__":
    main()
