"""Step-level pairs (codepref.steps) measured where the truth is known: on `--problems` synth-validation
problems the synth coder's step pairs are made by Step-DPO and by MCTS with the ranker's verifier (sampled
tests plus the prompt's examples, no hidden test), then each pair is judged by the hidden tests: it is right
when its chosen step's oracle value (the hidden-test pass rate of `--oracle-rollouts` continuations of the
prompt and that step) exceeds its rejected step's.

Per method: pairs made, problems with a pair, pair precision (and ties), rollouts and sandbox executions per
pair (those of the pairs' search; the oracle's are measurement, reported apart), wall time. No training.

Beside them, the instance-level rankers on the same problems and the same sampled tests (`instance`):
`--programs` whole programs per problem sampled as the rollouts are, their matrix against the same tests and
examples, each ranker's pairs at its default trust gate; a pair is right when its chosen program passes the
hidden tests and its rejected one does not, wrong the other way round, tied otherwise; its executions are the
matrix's jobs (one per distinct program).

    python benchmarks/step_pairs.py --out /tmp/step-pairs --json step_pairs.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from codepref.coder import cached_coder
from codepref.data import load_problems
from codepref.evaluate.verdicts import hidden_verdicts
from codepref.generate import GenerationRequest, make_generator, read_generations
from codepref.generate.sampling import sample_problems
from codepref.matrix import CODET_TESTS_PER_SAMPLE, DEFAULT_TEST_TIMEOUT_S, build_matrices, matrix_problem
from codepref.pairs import PairConfig, pairs_for_problem
from codepref.rank import RANKERS
from codepref.rank.ranked import execution_judges, rank_matrices
from codepref.sandbox import Sandbox
from codepref.sandbox.types import limits_profile
from codepref.steps.mcts import TreeSettings
from codepref.steps.source import (
    VerifierSettings,
    make_step_pairs,
    oracle_precision,
    step_problems,
    tasks_with_verifiers,
)
from codepref.steps.step_dpo import StepDPOSettings
from codepref.steps.values import RolloutEngine, Sampling
from codepref.tasks import make_task


def instance_pairs(
    problems, generator, sandbox, out: Path, programs: int, tests_file: Path, weight: int
) -> dict:
    """The rankers' whole-program pairs on the same problems and sampled tests, judged by the hidden tests."""
    started = time.perf_counter()
    sampling = Sampling()  # the rollouts' own settings
    request = GenerationRequest(
        prompts=(), n=programs, temperature=sampling.temperature, top_p=sampling.top_p,
        max_tokens=sampling.max_tokens, seed=sampling.seed,
    )  # fmt: skip
    solutions = sample_problems(generator, problems, out / "solutions.jsonl", request)
    tests = read_generations(tests_file)
    shown = [
        matrix_problem(
            make_task(p),
            "completion",
            {"completions": [{"text": c} for c in solutions[p.task_id]]},
            tests[p.task_id],
            CODET_TESTS_PER_SAMPLE,
            weight,
        )  # fmt: skip
        for p in problems
    ]
    built, stats = build_matrices(shown, out / "matrix.jsonl", sandbox, test_timeout_s=DEFAULT_TEST_TIMEOUT_S)
    truth = hidden_verdicts(problems, [[m.prompt + s for s in m.solutions] for m in built], sandbox)
    report = {"executions": stats.jobs, "wall_s": round(time.perf_counter() - started, 1)}
    for method in RANKERS:
        config = PairConfig(method=method)
        ranked = rank_matrices(built, execution_judges(method))
        pairs = [
            (index, pair)
            for index, (matrix, ranking) in enumerate(zip(built, ranked, strict=True))
            for pair in pairs_for_problem(matrix, ranking, config)
        ]
        right = sum(truth[i][p.chosen_index] and not truth[i][p.rejected_index] for i, p in pairs)
        wrong = sum(truth[i][p.rejected_index] and not truth[i][p.chosen_index] for i, p in pairs)
        report[method] = {
            "pairs": len(pairs),
            "problems_with_pairs": len({i for i, _ in pairs}),
            "right": right,
            "wrong": wrong,
            "tied": len(pairs) - right - wrong,
            "precision": right / len(pairs) if pairs else None,
            "executions_per_pair": stats.jobs / len(pairs) if pairs else None,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--problems", type=int, default=50)
    parser.add_argument("--example-weight", type=int, default=30)  # configs/synth-efficacy.yaml's weight
    parser.add_argument("--budget", type=int, default=32)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--min-visits", type=int, default=2)
    parser.add_argument("--programs", type=int, default=8)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--oracle-rollouts", type=int, default=16)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    problems = load_problems("synth-validation")[: args.problems]
    methods = {
        "step-dpo": StepDPOSettings(programs=args.programs, rollouts=args.rollouts, threshold=args.threshold),
        "mcts": TreeSettings(budget=args.budget, width=args.width, min_visits=args.min_visits),
    }
    report = {"problems": len(problems), "example_weight": args.example_weight, "methods": {}}
    with (
        make_generator("hf", str(cached_coder()), device="cpu") as generator,
        Sandbox(args.backend, args.workers, limits_profile("execution")) as sandbox,
    ):
        for name, settings in methods.items():
            out = args.out / name
            started = time.perf_counter()
            verify = VerifierSettings(example_weight=args.example_weight)
            step = step_problems(problems, generator, verify, out)
            engine = RolloutEngine(generator, sandbox, out / "rollouts.jsonl")
            pairs, summary = make_step_pairs(step, engine, settings, out)
            summary["wall_s_with_tests"] = round(time.perf_counter() - started, 1)
            judged = oracle_precision(
                pairs,
                tasks_with_verifiers([make_task(p) for p in problems], "oracle", None, 0),
                # a cache and a seed of its own: fresh continuations judge a pair, not the search's
                RolloutEngine(generator, sandbox, out / "oracle-rollouts.jsonl", Sampling(seed=1)),
                args.oracle_rollouts,
            )
            report["methods"][name] = summary | judged
            print(json.dumps({name: report["methods"][name]}, indent=2), flush=True)
        report["instance"] = instance_pairs(
            problems, generator, sandbox, args.out / "instance", args.programs,
            args.out / "mcts" / "tests.jsonl", args.example_weight,
        )  # fmt: skip
        print(json.dumps({"instance": report["instance"]}, indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
