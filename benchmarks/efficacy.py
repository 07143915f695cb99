"""Does the loop align a model? R rounds of the real loop (generate -> matrix -> rank -> pairs -> train) on
synth-train from the same base coder, once per pair source, measured on synth-heldout's hidden tests.

Pair sources: the execution rankers `codet`, `codedpo`, `dstc` (trained with DPO) and `dstc-kto` (KTO); the
control `random` (two distinct samples of a problem, chosen and rejected at random) and the upper bound
`oracle` (a sample that passes the problem's hidden tests over one that fails them); the step-level sources
`step-dpo` and `mcts` (codepref.steps: step pairs only, verified by the round's sampled tests and the
prompt's examples, the config's `steps:` section with the method replaced). Per source and round: held-out
pass@1 greedy and sampled (T=0.8, n=10, with pass@10) and the sampled change against the base coder with its
95% paired-bootstrap interval over problems, pair precision against the hidden tests (chosen passes,
rejected fails; for a step pair, its chosen step's oracle value exceeds its rejected step's, judged on
`step_precision_pairs` pairs drawn at random), pairs made, sandbox executions (the matrix's jobs, plus the
step search's programs), generated-test accuracy (share of the round's sampled asserts that the canonical
solution passes), wall time. Repeated over seeds; mean and spread; table, JSON and plot.

    python benchmarks/efficacy.py configs/synth-efficacy.yaml             # the full benchmark
    python benchmarks/efficacy.py configs/synth-efficacy-quick.yaml       # the quick variant
    python benchmarks/efficacy.py CONFIG --eval-split validation          # for choosing lr / thresholds
    python benchmarks/efficacy.py CONFIG --eval-split train               # seen compositions, new prompts

`train`: the synth-train problems after the loop's prompts, compositions the coder was trained on in prompts
neither it nor the loop saw; beside held-out's unseen compositions it tells not generalizing from not learning.

Every stage is cached by the loop (rerun to resume); results are written as each source finishes. Round 1's
samples and matrix are the same for every source of a seed, so they run once per seed, and the rounds are
shared by every evaluation split of a config (one output folder per config, one JSON and plot per split).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from codepref.evaluate.passk import counts_by_task, paired_bootstrap
from codepref.loop import Loop, LoopConfig, ProblemSet
from codepref.loop.stage_outputs import Generated, Matrices, Pairs, Rankings
from codepref.loop.stages import StageRunner, fingerprint
from codepref.loop.truth import baseline_pairs, round_step_precision, round_test_accuracy, round_verdicts
from codepref.loop.validate import config_from_dict
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, METHODS
from codepref.records import read_jsonl
from codepref.steps.config import StepPairSettings
from codepref.steps.pair import STEP_METHODS

SOURCES = ("codet", "codedpo", "dstc", "dstc-kto", "random", "oracle", *STEP_METHODS)


@dataclass
class BenchSettings:
    """The `efficacy:` section of the config (everything else is an ordinary loop config)."""

    sources: tuple[str, ...] = SOURCES
    seeds: tuple[int, ...] = (0, 1, 2)
    eval_benchmark: str = "synth-heldout"
    eval_offset: int = 0
    eval_limit: int | None = None
    samples: int = 10
    temperature: float = 0.8
    max_tokens: int = 96
    # Per ranker, the trust gate (`PairConfig.min_top_confidence`) chosen on synth-validation by
    # benchmarks/trust_gate.py; a ranker not named here keeps codepref.pairs' default for it.
    trust_gate: dict[str, float] = field(default_factory=dict)
    # Step sources: how many of a round's step pairs are judged, and by how many oracle rollouts each side.
    step_precision_pairs: int = 100
    oracle_rollouts: int = 8


# --- the loop with two more pair sources ---------------------------------------------------------------


class EfficacyLoop(Loop):
    """The real loop; only `random` and `oracle` replace the pairs stage (the execution rankers use it)."""

    def __init__(self, cfg: LoopConfig, source: str) -> None:
        super().__init__(cfg)
        self.source = source

    def pairs(self, r: int, generated: Generated, matrices: Matrices, rankings: Rankings) -> Pairs:
        if self.source not in ("random", "oracle"):
            return super().pairs(r, generated, matrices, rankings)
        inputs = {
            "source": self.source,
            "solutions": fingerprint(generated.solutions_file),
            "settings": asdict(self.cfg.pairs),
        }
        body = partial(baseline_pairs, self, r, generated, self.source)
        return self.runner.run(r, "pairs", inputs, body, Pairs)


def source_config(
    base: LoopConfig, source: str, seed: int, runs_dir: Path, trust_gate: dict[str, float] | None = None
) -> LoopConfig:
    method = source if source in METHODS else "dstc" if source == "dstc-kto" else "codedpo"
    # A step source trains on its step pairs alone; the pairs stage before it still ranks (its rows unused).
    steps = None
    if source in STEP_METHODS:
        steps = replace(base.steps or StepPairSettings(), method=source, ratio="0:1", verifier="sampled")
    # Each ranker's own gate: `base.pairs` carries the gate already resolved for the config's method.
    gate = (trust_gate or {}).get(method, DEFAULT_MIN_TOP_CONFIDENCE[method])
    return replace(
        base,
        name=f"{source}-seed{seed}",
        runs_dir=str(runs_dir),
        generation=replace(base.generation, seed=base.generation.seed + 1000 * seed),
        pairs=replace(base.pairs, method=method, seed=seed, min_top_confidence=gate),
        train=replace(base.train, loss="kto" if source == "dstc-kto" else base.train.loss, seed=seed),
        steps=steps,
        eval=replace(base.eval, sets=[]),  # held-out scores are measured below, greedy and sampled
    )


# --- measuring -----------------------------------------------------------------------------------------


def eval_scores(loop: Loop, model: str, bench: BenchSettings, evals: StageRunner, r: int) -> dict[str, float]:
    """Greedy pass@1, and sampled pass@1 / pass@n, of round `r`'s `model` on the evaluation split: a stage of
    `evals` named after the split, so it is reused, and resumed, only for the same weights and settings (a
    rebuilt coder or a retrained round lands in the same folder with other weights)."""
    # What the scores depend on: not which sources, seeds or trust gates the benchmark runs.
    settings = {k: v for k, v in asdict(bench).items() if k not in ("sources", "seeds", "trust_gate")}
    inputs = {"model": fingerprint(model), "settings": settings}

    def body(out: Path) -> dict[str, float]:
        spec = ProblemSet(bench.eval_benchmark, offset=bench.eval_offset, limit=bench.eval_limit)
        scores: dict[str, float] = {}
        saved = loop.cfg.eval
        for label, n, temperature in (("greedy", 1, 0.0), ("sampled", bench.samples, bench.temperature)):
            ks = [1] if n == 1 else [1, n]
            loop.cfg.eval = replace(
                saved, samples=n, temperature=temperature, ks=ks, max_tokens=bench.max_tokens
            )
            (out / label).mkdir(parents=True, exist_ok=True)
            result = loop.evaluate_set(model, spec, out / label)
            scores.update({f"{label} {k}": v for k, v in result.items() if k.startswith("pass@")})
        loop.cfg.eval = saved
        return scores

    return evals.run(r, bench.eval_benchmark, inputs, body, dict)


def passing(results_file: Path) -> dict[str, int]:
    """Passing samples per problem of an evaluation's results file."""
    counts = counts_by_task((r["task_id"], r["passed"]) for r in read_jsonl(results_file))
    return {task_id: passed for task_id, (_, passed) in counts.items()}


def pair_precision(loop: Loop, r: int, verdicts: dict[str, bool]) -> float:
    rows = read_jsonl(loop.runner.stage_dir(r, "pairs") / "train_pairs.jsonl")
    right = [
        verdicts.get(row["chosen_id"], False) and not verdicts.get(row["rejected_id"], True) for row in rows
    ]
    return sum(right) / len(right) if right else float("nan")


SHARED_FIRST_ROUND_STAGES = ("generate", "matrix")


def share_first_round(cfg: LoopConfig, seed: int) -> None:
    """Copy round 1's samples and matrix from a source of the same seed that already ran them.

    Every source starts round 1 from the same base model with the same sampling seed, so these two stages
    (most of a round's time) have the same inputs for all of them. The loop's stage cache still decides:
    a copy whose recorded inputs differ from this run's is discarded and the stage runs again."""
    runner = StageRunner(cfg.run_dir)
    for donor_dir in sorted(Path(cfg.runs_dir).glob(f"*-seed{seed}")):
        donor = StageRunner(donor_dir)
        if donor_dir != cfg.run_dir and all(donor.finished(1, s) for s in SHARED_FIRST_ROUND_STAGES):
            for stage in SHARED_FIRST_ROUND_STAGES:
                runner.adopt(donor, 1, stage)
            return


def run_source(base: LoopConfig, bench: BenchSettings, source: str, seed: int, root: Path) -> list[dict]:
    cfg = source_config(base, source, seed, root / "runs", bench.trust_gate)
    share_first_round(cfg, seed)
    loop = EfficacyLoop(cfg, source)
    started = time.perf_counter()
    result = loop.run()
    loop_seconds = time.perf_counter() - started
    rows, counts = [], {}
    with loop.session():  # the run closed its sandbox and generator: measure with new ones
        tasks = loop.training_tasks()
        for res in result.rounds:
            t0 = time.perf_counter()
            # The base coder's scores are every source's round 0: one folder for all of them.
            evals = StageRunner(root / "eval" / f"seed{seed}" / ("base" if res.round == 0 else source))
            row: dict[str, Any] = {"source": source, "seed": seed, "round": res.round}
            row.update(eval_scores(loop, res.model, bench, evals, res.round))
            sampled = evals.stage_dir(res.round, bench.eval_benchmark) / "sampled"
            counts[res.round] = passing(sampled / f"{bench.eval_benchmark}.results.jsonl")
            if res.round > 0:
                change = paired_bootstrap(counts[0], counts[res.round], bench.samples)
                row["sampled change"] = change["change"]
                row.update({f"sampled change {k}": change[k] for k in ("low", "high")})
                verdicts = round_verdicts(loop, res.round, tasks)
                accuracy = round_test_accuracy(loop, res.round, tasks)
                stages = {o.name: o.summary for o in result.outcomes if o.round == res.round}
                executions = stages["matrix"]["jobs"]
                if source in STEP_METHODS:
                    steps = json.loads(
                        (loop.runner.stage_dir(res.round, "steps") / "summary.json").read_text()
                    )
                    executions += steps["executions"]
                    starting = result.rounds[res.round - 1].model
                    out = evals.stage_dir(res.round, "steps")
                    judged = round_step_precision(
                        loop, res.round, starting, bench.oracle_rollouts, bench.step_precision_pairs, out
                    )
                    precision = judged["precision"]
                else:
                    precision = pair_precision(loop, res.round, verdicts)
                row.update(
                    pairs=res.pairs or 0,
                    pair_precision=precision,
                    executions=executions,
                    sample_pass_rate=sum(verdicts.values()) / max(1, len(verdicts)),
                    test_accuracy=accuracy.share,
                    tests=accuracy.asserts,
                    loop_seconds=sum(o.seconds for o in result.outcomes if o.round == res.round),
                )
            row["eval_seconds"] = time.perf_counter() - t0
            rows.append(row)
    print(f"{source} seed {seed}: loop {loop_seconds:.0f} s", file=sys.stderr)
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and spread (min..max over seeds) of every figure, per source and round."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["source"], row["round"]), []).append(row)
    summary = []
    for (source, r), group in sorted(groups.items(), key=lambda kv: (SOURCES.index(kv[0][0]), kv[0][1])):
        entry: dict[str, Any] = {"source": source, "round": r, "seeds": len(group)}
        for key in group[0]:
            values = [g[key] for g in group if isinstance(g.get(key), int | float) and g[key] == g[key]]
            if key in ("source", "seed", "round") or not values:
                continue
            entry[key] = statistics.fmean(values)
            entry[f"{key} spread"] = max(values) - min(values)
        summary.append(entry)
    return summary


def step_minus_instance(root: Path, bench: BenchSettings) -> list[dict]:
    """Per seed, each step source's last-round sampled pass@1 minus each ranker's (same prompts, samples
    and training steps), with its 95% paired bootstrap over problems."""

    def last(seed: int, source: str) -> dict[str, int] | None:
        runs = (root / "eval" / f"seed{seed}" / source).glob(f"round-*/{bench.eval_benchmark}/sampled")
        latest = max(runs, key=lambda p: int(p.parent.parent.name.removeprefix("round-")), default=None)
        return passing(latest / f"{bench.eval_benchmark}.results.jsonl") if latest else None

    found = []
    for seed in bench.seeds:
        counts = {s: last(seed, s) for s in bench.sources if s in STEP_METHODS or s in METHODS}
        for step in (s for s in counts if s in STEP_METHODS and counts[s] is not None):
            for ranker in (s for s in counts if s in METHODS and counts[s] is not None):
                change = paired_bootstrap(counts[ranker], counts[step], bench.samples)
                found.append({"seed": seed, "step": step, "ranker": ranker} | change)
    return found


def print_table(summary: list[dict]) -> None:
    columns = (
        "greedy pass@1",
        "sampled pass@1",
        "sampled pass@10",
        "sampled change",
        "pairs",
        "pair_precision",
        "executions",
        "test_accuracy",
    )
    print("| source | round | " + " | ".join(columns) + " | loop s |")
    print("|---|---|" + "---|" * (len(columns) + 1))
    for e in summary:
        cells = [
            f"{e[c]:.3f} ± {e[c + ' spread'] / 2:.3f}" if isinstance(e.get(c), float) else "" for c in columns
        ]
        print(
            f"| {e['source']} | {e['round']} | " + " | ".join(cells) + f" | {e.get('loop_seconds', 0):.0f} |"
        )


def plot(summary: list[dict], path: Path, split: str, metric: str = "sampled pass@1") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    base = [e for e in summary if e["round"] == 0]
    for source in dict.fromkeys(e["source"] for e in summary):
        points = [e for e in summary if e["source"] == source and e["round"] > 0]
        points = base[:1] + points
        ax.errorbar(
            [e["round"] for e in points],
            [e.get(metric, float("nan")) for e in points],
            yerr=[e.get(f"{metric} spread", 0) / 2 for e in points],
            marker="o",
            capsize=3,
            label=source,
        )
    ax.set_xticks(sorted({e["round"] for e in summary}))  # rounds are whole numbers
    ax.set_xlabel("round (0: base coder)")
    ax.set_ylabel(f"{split} {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def on_split(bench: BenchSettings, base: LoopConfig, split: str) -> BenchSettings:
    """The settings measuring on `split`: `heldout` and `validation` whole, `train` from the problem after
    the loop's last prompt (so no problem the loop trained on is measured)."""
    if split != "train":
        return replace(bench, eval_benchmark=f"synth-{split}", eval_offset=0)
    prompts = base.train_problems
    if prompts.benchmark != "synth-train" or prompts.limit is None:
        raise ValueError("--eval-split train needs train_problems on synth-train with a limit")
    return replace(bench, eval_benchmark="synth-train", eval_offset=prompts.offset + prompts.limit)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path)
    parser.add_argument(
        "--eval-split",
        choices=("heldout", "validation", "train"),
        default=None,
        help="default: the config's efficacy.eval_benchmark; train: the synth-train problems after the loop's",
    )
    parser.add_argument("--sources", help="comma-separated subset of: " + ", ".join(SOURCES))
    parser.add_argument("--seeds", help="comma-separated seeds (default: the config's)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="default: benchmarks/out/efficacy-NAME")
    args = parser.parse_args()
    try:
        raw = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        bench = BenchSettings(**raw.pop("efficacy", {}))
        if (raw.get("pairs") or {}).get("min_top_confidence") is not None:
            raise ValueError(
                "pairs.min_top_confidence: set each ranker's gate in efficacy.trust_gate instead"
            )
        base = config_from_dict(raw, str(args.config))
    except (ValueError, TypeError, OSError) as err:
        sys.exit(f"error: {args.config}: {err}")
    if args.eval_split:
        try:
            bench = on_split(bench, base, args.eval_split)
        except ValueError as err:
            sys.exit(f"error: {args.config}: {err}")
    if args.sources:
        bench = replace(bench, sources=tuple(args.sources.split(",")))
    if args.seeds:
        bench = replace(bench, seeds=tuple(int(s) for s in args.seeds.split(",")))
    unknown = set(bench.sources) - set(SOURCES)
    if unknown:
        sys.exit(f"error: unknown source(s) {', '.join(sorted(unknown))}; choose from {', '.join(SOURCES)}")
    if set(bench.trust_gate) - set(METHODS):
        sys.exit(f"error: {args.config}: efficacy.trust_gate: rankers are {', '.join(METHODS)}")
    root = args.out or Path("benchmarks/out") / f"efficacy-{base.name}"
    stem = root / f"efficacy-{bench.eval_benchmark}"
    results, figure = stem.with_suffix(".json"), stem.with_suffix(".png")
    root.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for seed in bench.seeds:
        for source in bench.sources:
            rows += run_source(base, bench, source, seed, root)
            summary = summarize(rows)
            results.write_text(
                json.dumps({"settings": asdict(bench), "rows": rows, "summary": summary}, indent=1) + "\n"
            )
    print_table(summary)
    differences = step_minus_instance(root, bench)
    for d in differences:
        print(f"{d['step']} minus {d['ranker']}, seed {d['seed']}: "
              f"{100 * d['change']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] points")  # fmt: skip
    results.write_text(
        json.dumps(
            {"settings": asdict(bench), "rows": rows, "summary": summary, "step_minus_instance": differences},
            indent=1,
        )
        + "\n"
    )
    plot(summary, figure, bench.eval_benchmark)
    print(f"written: {results}, {figure}")


if __name__ == "__main__":
    main()
