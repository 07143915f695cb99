"""What benchmarks/expert_iteration.py's measurements say, read from its run folders (nothing is rerun):

    python benchmarks/expert_iteration_report.py --compare OUT/oracle-s0:0 OUT/oracle-s0:1
    python benchmarks/expert_iteration_report.py --seeds OUT/oracle-s0:0,OUT/oracle-s0:1 OUT/oracle-s1:0,...
    python benchmarks/expert_iteration_report.py --share OUT/oracle-s0:0 OUT/examples-sole-s0:1 OUT/oracle-s0:1
    python benchmarks/expert_iteration_report.py --errors OUT/oracle-s0:1 --eval synth-heldout
    python benchmarks/expert_iteration_report.py --coverage OUT/samples-...-1 OUT/oracle-s0:0 OUT/oracle-s0:1

`--compare` gives each later RUN:ROUND's sampled pass@1 change against the first with a 95% paired bootstrap
interval over problems (with `--withheld SHARE`, apart on compositions the loop's prompts showed and on
those withheld from them; with `--plot PNG`, also as a chart whose bars `--labels` names); `--share` gives
a label-free source's change as a share of the oracle's, with its interval; `--seeds` gives one such
change per seed and their mean and spread over seeds; `--errors` sorts a measurement's failing samples into
wrong shape and right shape with other constants (the coder's main error); `--coverage` splits a
measurement by whether the round-1 pool solved a loop prompt of the same function shape (primitives and
output, constants aside).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from codepref.data import load_problems
from codepref.evaluate.harness import judged_samples
from codepref.evaluate.passk import paired_bootstrap, paired_share
from codepref.generate.sampling import read_problem_samples

SAMPLES = 10  # sampled completions per measured problem (expert_iteration.py's measure)
POOL_FILES = ("samples.jsonl", "samples.distinct_results.jsonl", "examples.distinct_results.jsonl")


def eval_dir(spec: str) -> Path:
    """RUN:ROUND -> the folder of that round's measurement (expert_iteration.py's `eval-R`)."""
    run_dir, r = spec.rsplit(":", 1)
    return Path(run_dir) / f"eval-{r}"


def counts(spec: str) -> dict[str, int]:
    """RUN:ROUND -> passing samples of each measured problem."""
    return json.loads((eval_dir(spec) / "figures.json").read_text())["counts"]


def compare(specs: list[str], plot_path: Path | None = None, labels: list[str] | None = None) -> Any:
    """RUN:ROUND RUN:ROUND [...]: each later one against the first; with `plot_path`, also as a chart, its
    bars and axis named by `labels` (one per RUN:ROUND, the first's first) where given, else by the specs.
    Returns the chart it saved, if any."""
    base = counts(specs[0])
    changes = {}
    for spec in specs[1:]:
        changes[spec] = {k: round(v, 4) for k, v in paired_bootstrap(base, counts(spec), SAMPLES).items()}
        print(spec, json.dumps(changes[spec]))
    if plot_path:
        names = labels or specs
        chart = change_chart([changes[spec] for spec in specs[1:]], names[1:], names[0])
        chart.savefig(plot_path, dpi=110)
        return chart
    return None


def seed_pair(text: str) -> tuple[str, str]:
    """`--seeds` argument BEFORE,AFTER -> the two RUN:ROUND, or one usage line saying what was expected."""
    parts = text.split(",")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not BEFORE,AFTER (two RUN:ROUND joined by one comma)")
    return parts[0], parts[1]


def across_seeds(pairs: list[tuple[str, str]]) -> None:
    """(BEFORE, AFTER) [...], one pair of RUN:ROUND per seed: each seed's change with its interval, then
    their mean and spread (min..max over seeds), so a gain is read against both kinds of noise."""
    changes = []
    for before, after in pairs:
        change = paired_bootstrap(counts(before), counts(after), SAMPLES)
        changes.append(change["change"])
        print(f"{before},{after}", json.dumps({k: round(v, 4) for k, v in change.items()}))
    low, high = min(changes), max(changes)
    summary = {"mean": float(np.mean(changes)), "min": low, "max": high, "spread": high - low}
    print("across seeds", json.dumps({"seeds": len(changes)} | {k: round(v, 4) for k, v in summary.items()}))


def share_of_oracle(before: str, source: str, oracle: str) -> dict[str, float]:
    """BEFORE SOURCE ORACLE, a RUN:ROUND each on one split: SOURCE's sampled pass@1 change from BEFORE as a
    share of ORACLE's, with its 95% paired bootstrap interval over problems."""
    return paired_share(counts(before), counts(source), counts(oracle))


def transfer(specs: list[str], share: float, benchmark: str) -> None:
    """RUN:ROUND RUN:ROUND [...] of runs with `--withhold-keys SHARE`: each later one's change against the
    first, apart on the measured problems of compositions the loop's prompts showed and of those withheld
    (compositions seen neither in the coder's training nor in the loop)."""
    from codepref.synth.problems import of_withheld_keys

    withheld = of_withheld_keys(load_problems(benchmark), benchmark, share)
    base = counts(specs[0])
    for spec in specs[1:]:
        after = counts(spec)
        figures = {}
        for part, withheld_part in (("shown", False), ("withheld", True)):
            ids = [k for k in base if k in after and (k in withheld) == withheld_part]
            change = paired_bootstrap({k: base[k] for k in ids}, {k: after[k] for k in ids}, SAMPLES)
            figures[part] = {k: round(v, 4) for k, v in change.items()}
        print(spec, json.dumps(figures))


def change_chart(changes: list[dict], labels: list[str], base: str) -> Any:
    """A matplotlib Figure, one bar per run: its sampled pass@1 change in points, with the 95% paired
    interval, named by `labels`."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state, no GUI backend

    points = [100 * c["change"] for c in changes]
    errors = [
        [100 * (c["change"] - c["low"]) for c in changes],
        [100 * (c["high"] - c["change"]) for c in changes],
    ]
    fig = Figure(figsize=(7, 0.45 * len(labels) + 1.2))
    ax = fig.subplots()
    ax.barh(
        labels, points, xerr=errors, capsize=3, color=["tab:green" if p > 0 else "tab:red" for p in points]
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel(f"sampled pass@1 change from {base}, points\n(95% paired bootstrap over problems)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def constant_shape(program: str) -> str | None:
    """The program's AST with every literal blanked: two programs of one shape differ in constants only."""
    import ast

    try:
        tree = ast.parse(program)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = "K"
    return ast.dump(tree)


def errors(specs: list[str], benchmark: str) -> None:
    """RUN:ROUND [...]: of each measurement's failing samples, how many have the canonical solution's shape
    with other constants (the coder's main error: guessing a constant instead of copying it)."""
    problems = {p.task_id: p for p in load_problems(benchmark)}
    for spec in specs:
        here = eval_dir(spec)
        judged = judged_samples(here / "sampled.distinct.jsonl")
        failing = [(k, c) for k, c, passed in judged if not passed]
        completions = read_problem_samples(problems.values(), here / "sampled.jsonl")
        fails = same = 0
        for k, c in failing:  # each distinct failure weighted by how often it was sampled
            count = completions[k].count(c)
            fails += count
            right = constant_shape(problems[k].program(problems[k].canonical_solution))
            same += count * (constant_shape(problems[k].program(c)) == right)
        print(
            spec,
            json.dumps({"failing_samples": fails, "canonical_shape_other_constants": round(same / fails, 3)}),
        )


def coverage(pool: Path, specs: list[str], prompts: str, benchmark: str) -> None:
    """POOL RUN:ROUND [...]: sampled pass@1 of each measurement on three parts of `benchmark`: problems whose
    function shape (primitives and output, constants aside) has a loop prompt the pool solved, one it never
    solved, and none at all (a shape without constants has one function, so a measured problem's solution
    bans every prompt of it)."""
    from codepref.synth.problems import generate_split

    def shapes(split: str) -> dict[str, tuple[str, ...]]:  # prompt text -> its primitives, output too
        problems = generate_split(split.removeprefix("synth-"))
        return {p.prompt: (p.composition.family, *(s.name for s in p.composition.steps)) for p in problems}

    of_prompt = shapes(prompts)
    texts = {p.task_id: p.prompt for p in load_problems(prompts)}
    solved: dict[tuple[str, ...], bool] = {}
    for task_id, _, passed in judged_samples(pool / "samples.distinct.jsonl"):
        key = of_prompt[texts[task_id]]
        solved[key] = solved.get(key, False) or passed
    of_measured = shapes(benchmark)
    parts: dict[str, list[str]] = {"solved in pool": [], "unsolved in pool": [], "not in pool": []}
    for problem in load_problems(benchmark):
        key = of_measured[problem.prompt]
        part = "not in pool" if key not in solved else "solved in pool" if solved[key] else "unsolved in pool"
        parts[part].append(problem.task_id)
    for spec in specs:
        measured = counts(spec)
        figures = {}
        for part, ids in parts.items():
            # A measurement may cover a prefix of the benchmark only.
            here = [measured[k] / SAMPLES for k in ids if k in measured]
            figures[part] = {
                "problems": len(here),
                "sampled": round(float(np.mean(here)), 4) if here else None,
            }
        print(spec, json.dumps(figures))


def precision(pool: Path, prompts: str) -> None:
    """POOL: how right the label-free evidence is on the round-1 pool's samples (hidden tests of the loop
    prompts, a training split): of the distinct samples passing the prompt's examples, the share right, by
    how many distinct samples of the prompt pass the examples and by how many of its samples it is; and the
    share right among the distinct samples that fail the examples. Where a ranker run left the pool's
    matrix, also by the share of the round's sampled tests each passes, and how many of those tests are
    right (every right sample passes them) and telling (some wrong one fails them too)."""
    # A pool gets its example verdicts from an `examples` run and its matrix from a ranker run.
    for name in POOL_FILES:
        if not (pool / name).exists():
            raise SystemExit(f"error: {pool}: no {name}; run expert_iteration.py --select examples there")
    problems = {p.task_id: p for p in load_problems(prompts)}
    hidden = {(k, c): ok for k, c, ok in judged_samples(pool / "samples.distinct.jsonl")}
    shown = {(k, c): ok for k, c, ok in judged_samples(pool / "examples.distinct.jsonl")}
    completions = read_problem_samples(problems.values(), pool / "samples.jsonl")
    # The same rows by how many distinct samples of the prompt pass its examples, and by how many of the
    # prompt's samples are this very program (the coder's agreement with itself).
    passers: dict[int, list[bool]] = {}
    copies: dict[int, list[bool]] = {}
    for k, samples in completions.items():
        passing = [c for c in dict.fromkeys(samples) if shown[(k, c)]]
        for c in passing:
            passers.setdefault(len(passing), []).append(hidden[(k, c)])
            copies.setdefault(samples.count(c), []).append(hidden[(k, c)])
    every = [ok for oks in passers.values() for ok in oks]
    print("passes the examples", json.dumps({"rows": len(every), "right": round(float(np.mean(every)), 3)}))
    labelled: list[tuple[str, list[bool]]] = []
    tests: dict[str, list[bool]] = {}
    if (pool / "matrix.jsonl").exists():
        bands, tests = sampled_test_evidence(pool / "matrix.jsonl", completions, hidden, shown)
        labelled += [(f"passes {band} of its sampled tests", oks) for band, oks in sorted(bands.items())]
    labelled += [(f"is one of {n} distinct samples passing them", oks) for n, oks in sorted(passers.items())]
    labelled += [(f"is {n} of the prompt's samples", oks) for n, oks in sorted(copies.items())]
    for label, oks in labelled:
        print(f"  and {label}", json.dumps({"rows": len(oks), "right": round(float(np.mean(oks)), 3)}))
    if tests:
        shares = {name: round(float(np.mean(oks)), 3) for name, oks in tests.items()}
        print(
            "sampled tests of prompts with a right sample",
            json.dumps({"tests": len(tests["right"]), **shares}),
        )
    # The other side of the same evidence: a distinct sample failing the examples, as a negative row.
    failing = [hidden[key] for key, ok in shown.items() if not ok]
    print(
        "fails the examples", json.dumps({"rows": len(failing), "right": round(float(np.mean(failing)), 4)})
    )


def sampled_test_evidence(
    matrix_file: Path, completions: dict, hidden: dict, shown: dict
) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
    """The example passers' hidden verdicts by the share of the round's sampled tests each passes, and the
    sampled tests of prompts with a right sample: right (every right sample passes it) and right and
    telling (some wrong sample also fails it)."""
    from codepref.matrix import load_matrices

    bands: dict[str, list[bool]] = {}
    tests: dict[str, list[bool]] = {"right": [], "right and telling": []}
    for matrix in load_matrices(matrix_file):
        samples = completions[matrix.task_id]
        sampled = np.array([n > 0 for n in matrix.sampled_counts])
        right = np.array([hidden[(matrix.task_id, c)] for c in samples])
        if right.any() and sampled.any():
            passed = matrix.passed[:, sampled].astype(bool)
            holds = passed[right].all(axis=0)
            tests["right"] += holds.tolist()
            tests["right and telling"] += (holds & ~passed[~right].all(axis=0)).tolist()
        for c in dict.fromkeys(samples):
            if not shown[(matrix.task_id, c)]:
                continue
            i = samples.index(c)
            share = float(matrix.passed[i, sampled].mean()) if sampled.any() else float("nan")
            band = "no sampled test" if np.isnan(share) else f"{min(int(share * 4), 3) / 4:.2f}+"
            bands.setdefault(band, []).append(hidden[(matrix.task_id, c)])
    return bands, tests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare", nargs="+", metavar="RUN:ROUND", help="change of each against the first")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=seed_pair,
        metavar="BEFORE,AFTER",
        help="one pair of RUN:ROUND per seed: each change, then their mean and spread over seeds",
    )
    parser.add_argument(
        "--share",
        nargs=3,
        metavar=("BEFORE", "SOURCE", "ORACLE"),
        help="SOURCE's change from BEFORE as a share of ORACLE's, with its 95%% paired interval",
    )
    parser.add_argument("--plot", type=Path, metavar="PNG", help="with --compare: draw the changes there")
    parser.add_argument(
        "--labels",
        nargs="+",
        metavar="NAME",
        help="with --plot: the chart's name for each --compare RUN:ROUND, the first's first",
    )
    parser.add_argument("--errors", nargs="+", metavar="RUN:ROUND", help="classify measured failures")
    parser.add_argument(
        "--coverage",
        nargs="+",
        metavar="POOL RUN:ROUND",
        help="split measurements by whether the samples in POOL solved a prompt of the same shape",
    )
    parser.add_argument(
        "--withheld",
        type=float,
        metavar="SHARE",
        help="with --compare: the change apart on shown and withheld compositions (--withhold-keys SHARE)",
    )
    parser.add_argument("--precision", type=Path, metavar="POOL", help="how right the label-free evidence is")
    parser.add_argument("--prompts", default="synth-prompts", help="the loop prompts POOL was sampled from")
    parser.add_argument("--eval", default="synth-validation", help="the split the runs measured")
    args = parser.parse_args()
    if args.withheld is not None and not args.compare:
        parser.error("--withheld splits a --compare; give the runs to compare")
    if args.labels and not (
        args.plot and args.compare and len(args.labels) == len(args.compare) == len(set(args.labels))
    ):  # a chart's bars sit on one category axis, where two equal names would draw one bar
        parser.error("--labels names the --plot chart's --compare runs: one distinct NAME per RUN:ROUND")
    if args.compare and args.withheld is not None:
        transfer(args.compare, args.withheld, args.eval)
    elif args.compare:
        compare(args.compare, args.plot, args.labels)
    if args.share:
        try:
            share = share_of_oracle(*args.share)
        except ValueError as problem:
            parser.error(f"--share {' '.join(args.share)}: {problem}")
        print(" ".join(args.share), json.dumps({k: round(v, 4) for k, v in share.items()}))
    if args.seeds:
        across_seeds(args.seeds)
    if args.errors:
        errors(args.errors, args.eval)
    if args.coverage:
        coverage(Path(args.coverage[0]), args.coverage[1:], args.prompts, args.eval)
    if args.precision:
        precision(args.precision, args.prompts)
    if not (args.compare or args.share or args.seeds or args.errors or args.coverage or args.precision):
        parser.error("give --compare, --share, --seeds, --errors, --coverage or --precision")


if __name__ == "__main__":
    main()
