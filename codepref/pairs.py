"""Preference pairs from execution matrices: `codepref pairs --method codedpo|dstc|codet MATRIX_FILE -o OUT`.

Per problem, the chosen ranker orders the sampled solutions without any ground truth, and pairs are drawn:

  * correctness (codet, codedpo): a top-ranked solution (one tied with the best score) against a
    bottom-ranked one, up to `pairs_per_problem`, each with a margin in normalised confidence above
    `min_margin`. A problem whose best solution has confidence <= `min_top_confidence` is skipped: nothing
    in it is trusted. The default threshold is per method (`DEFAULT_MIN_TOP_CONFIDENCE`), set from CodeT's
    released CodeGen-16B HumanEval samples, where it lifts pair precision from about 35% to 60-70% for
    half the pairs (benchmarks/rerank_codet.py prints the trade-off); 0 keeps every problem whose best
    solution passes at least one sampled test.
  * correctness (dstc): DSTC's minimax selection, one pair per problem; each side is a solution followed by
    the test it is judged against (`codepref.rank.dstc`).
  * efficiency (codedpo, CodeDPO's efficiency step): the distinct solutions tied at the top are timed on
    the trusted tests (those every one of them passes), `timing_repeats` runs each, median of the summed
    per-test times; the fastest is paired against the slowest while slow / fast >= `speedup`, the medians
    differ by at least `min_time_diff_s` and the two solutions' run times do not overlap.

OUT is a directory holding `pairs.jsonl` / `pairs.parquet` in TRL's preference format (prompt, chosen,
rejected + metadata) and `kto.jsonl` / `kto.parquet` in TRL's unpaired format (prompt, completion, label).
Pairs are appended per problem and flushed; a rerun with the same settings resumes after the last finished
problem (`progress.jsonl`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

import numpy as np
import typer

from codepref.matrix import ExecutionMatrix
from codepref.rank import Ranking, rank
from codepref.rank.dstc import concatenate, select_pair

METHODS = ("codet", "codedpo", "dstc")
# Confidence scales differ by ranker: codet's is the consensus score over its maximum, codedpo's the share of
# all solution score held by the top group. dstc's pairs carry their own tests, so no threshold is applied.
DEFAULT_MIN_TOP_CONFIDENCE = {"codet": 0.1, "codedpo": 0.3, "dstc": 0.0}
PAIR_COLUMNS = (
    "prompt", "chosen", "rejected", "method", "task_id", "chosen_score", "rejected_score", "margin", "kind",
    "chosen_id", "rejected_id", "chosen_test", "rejected_test", "chosen_time_s", "rejected_time_s",
)  # fmt: skip


@dataclass(frozen=True)
class PairConfig:
    method: str = "codedpo"
    pairs_per_problem: int = 1
    min_margin: float = 0.0  # a correctness pair needs chosen - rejected confidence > min_margin
    min_top_confidence: float | None = None  # skip unless the best confidence exceeds this; None: per method
    efficiency: bool = False  # also time the top group (codedpo only)
    speedup: float = 1.2  # efficiency pair needs slow / fast >= speedup
    min_time_diff_s: float = 1e-3  # ... and slow - fast >= this (medians): timer jitter is no pair
    timing_repeats: int = 5
    max_timed: int = 8  # at most this many top solutions are timed per problem
    seed: int = 0
    rank_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.min_top_confidence is None:
            object.__setattr__(self, "min_top_confidence", DEFAULT_MIN_TOP_CONFIDENCE[self.method])
        if self.efficiency and self.method != "codedpo":
            raise ValueError("efficiency pairs are CodeDPO's: use them with --method codedpo")
        if self.pairs_per_problem < 1 or self.timing_repeats < 1 or self.max_timed < 2:
            raise ValueError("pairs_per_problem and timing_repeats must be >= 1, max_timed >= 2")
        if self.speedup < 1.0:
            raise ValueError(f"speedup must be >= 1, got {self.speedup}")


@dataclass
class PreferencePair:
    """One row of TRL's preference format plus the metadata that says where it came from."""

    prompt: str
    chosen: str
    rejected: str
    method: str
    task_id: str
    chosen_score: float  # correctness: the ranker's confidence; efficiency: minus the median time
    rejected_score: float
    margin: float  # chosen_score - rejected_score
    kind: str  # "correctness" or "efficiency"
    chosen_id: str
    rejected_id: str
    chosen_test: str = ""  # dstc: the test concatenated to each side
    rejected_test: str = ""
    chosen_time_s: float | None = None  # efficiency: median seconds on the trusted tests
    rejected_time_s: float | None = None


class Timer(Protocol):
    def __call__(
        self, prompt: str, solutions: Sequence[str], tests: Sequence[str], repeats: int
    ) -> np.ndarray:
        """Seconds per run, shape (len(solutions), repeats): one run executes all `tests`; NaN where it failed."""


def rank_matrix(matrix: ExecutionMatrix, config: PairConfig) -> Ranking:
    counts = np.asarray(matrix.test_counts, dtype=np.int64) if len(matrix.test_counts) else None
    return rank(config.method, matrix.passed, test_counts=counts, seed=config.seed, **config.rank_options)


def distinct_texts(indices: Iterable[int], solutions: Sequence[str]) -> list[int]:
    """Keep the first index of each distinct solution text (duplicates would make a pair with itself)."""
    seen: set[str] = set()
    kept = []
    for i in indices:
        text = solutions[int(i)].strip()
        if text not in seen:
            seen.add(text)
            kept.append(int(i))
    return kept


def correctness_pairs(matrix: ExecutionMatrix, ranking: Ranking, config: PairConfig) -> list[PreferencePair]:
    """Top-ranked against bottom-ranked solutions (codet, codedpo)."""
    if len(ranking.order) < 2 or ranking.confidence[ranking.order[0]] <= config.min_top_confidence:
        return []
    top = distinct_texts(ranking.order[np.isin(ranking.order, ranking.top_candidates())], matrix.solutions)
    top_texts = {matrix.solutions[i].strip() for i in top}
    bottom = [
        i
        for i in distinct_texts(ranking.order[::-1], matrix.solutions)
        if matrix.solutions[i].strip() not in top_texts
    ]
    pairs = []
    for chosen, rejected in zip(_cycled(top, len(bottom)), bottom, strict=False):
        if len(pairs) == config.pairs_per_problem:
            break
        margin = float(ranking.confidence[chosen] - ranking.confidence[rejected])
        if margin <= config.min_margin:
            break  # the bottom list only gets better from here
        pairs.append(_pair(matrix, config, chosen, rejected, ranking.confidence, "correctness"))
    return pairs


def _cycled(items: list[int], length: int) -> list[int]:
    """`items` repeated in order up to `length` entries (several pairs may share a chosen solution)."""
    return [items[k % len(items)] for k in range(length)] if items else []


def dstc_pairs(matrix: ExecutionMatrix, config: PairConfig) -> list[PreferencePair]:
    """DSTC's minimax pair, each side the solution concatenated with its test."""
    counts = np.asarray(matrix.test_counts, dtype=np.int64) if len(matrix.test_counts) else None
    selection = select_pair(matrix.passed, test_counts=counts, seed=config.seed)
    if selection is None:
        return []
    ranking = rank_matrix(matrix, config)
    if ranking.confidence[selection.chosen_solution] <= config.min_top_confidence:
        return []
    chosen = concatenate(matrix.solutions[selection.chosen_solution], matrix.tests[selection.chosen_test])
    rejected = concatenate(
        matrix.solutions[selection.rejected_solution], matrix.tests[selection.rejected_test]
    )
    if chosen.strip() == rejected.strip():
        return []
    pair = _pair(
        matrix,
        config,
        selection.chosen_solution,
        selection.rejected_solution,
        ranking.confidence,
        "correctness",
    )
    pair.chosen, pair.rejected = chosen, rejected
    pair.chosen_test = matrix.test_ids[selection.chosen_test]
    pair.rejected_test = matrix.test_ids[selection.rejected_test]
    return [pair]


def efficiency_candidates(
    matrix: ExecutionMatrix, ranking: Ranking, config: PairConfig
) -> tuple[list[int], list[int]]:
    """(solutions to time, trusted tests): distinct top-group solutions and the tests they all pass."""
    if len(ranking.order) == 0 or ranking.confidence[ranking.order[0]] <= config.min_top_confidence:
        return [], []
    top = ranking.order[np.isin(ranking.order, ranking.top_candidates())]
    timed = distinct_texts(top, matrix.solutions)[: config.max_timed]
    if len(timed) < 2:
        return [], []
    trusted = np.flatnonzero(matrix.passed[timed].all(axis=0))
    return timed, [int(j) for j in trusted]


def median_times(runs: np.ndarray) -> np.ndarray:
    """Median over repeats per solution; NaN for a solution with any failed run (it is not reliably correct)."""
    runs = np.asarray(runs, dtype=np.float64)
    medians = np.full(runs.shape[0], np.nan)
    complete = ~np.isnan(runs).any(axis=1) & (runs.shape[1] > 0)
    medians[complete] = np.median(runs[complete], axis=1)
    return medians


def fast_slow_pairs(
    runs: np.ndarray, speedup: float, min_diff_s: float, max_pairs: int
) -> list[tuple[int, int]]:
    """(fast, slow) rows of `runs` (solutions x repeats): i-th fastest against i-th slowest by median.

    A pair needs slow / fast >= `speedup` and slow - fast >= `min_diff_s` on the medians, and every run of
    the slow one slower than every run of the fast one: sub-millisecond programs in containers jitter by
    more than their real differences, and only separated run times say the difference is not noise.
    """
    runs = np.asarray(runs, dtype=np.float64)
    medians = median_times(runs)
    valid = np.flatnonzero(np.isfinite(medians) & (medians > 0))
    by_time = valid[np.argsort(medians[valid], kind="stable")]
    pairs = []
    for k in range(min(max_pairs, len(by_time) // 2)):
        fast, slow = int(by_time[k]), int(by_time[-1 - k])
        clearly_faster = (
            medians[slow] >= speedup * medians[fast] and medians[slow] - medians[fast] >= min_diff_s
        )
        if not (clearly_faster and runs[slow].min() > runs[fast].max()):
            break
        pairs.append((fast, slow))
    return pairs


def efficiency_pairs(
    matrix: ExecutionMatrix, ranking: Ranking, config: PairConfig, timer: Timer
) -> list[PreferencePair]:
    timed, trusted = efficiency_candidates(matrix, ranking, config)
    if not trusted:
        return []
    runs = np.asarray(
        timer(
            matrix.prompt,
            [matrix.solutions[i] for i in timed],
            [matrix.tests[j] for j in trusted],
            config.timing_repeats,
        ),
        dtype=np.float64,
    )
    times = median_times(runs)
    pairs = []
    for fast, slow in fast_slow_pairs(runs, config.speedup, config.min_time_diff_s, config.pairs_per_problem):
        pair = _pair(matrix, config, timed[fast], timed[slow], None, "efficiency")
        pair.chosen_time_s, pair.rejected_time_s = float(times[fast]), float(times[slow])
        pair.chosen_score, pair.rejected_score = -pair.chosen_time_s, -pair.rejected_time_s
        pair.margin = pair.rejected_time_s - pair.chosen_time_s
        pairs.append(pair)
    return pairs


def _pair(
    matrix: ExecutionMatrix,
    config: PairConfig,
    chosen: int,
    rejected: int,
    scores: np.ndarray | None,
    kind: str,
) -> PreferencePair:
    chosen_score = float(scores[chosen]) if scores is not None else 0.0
    rejected_score = float(scores[rejected]) if scores is not None else 0.0
    return PreferencePair(
        prompt=matrix.prompt,
        chosen=matrix.solutions[chosen],
        rejected=matrix.solutions[rejected],
        method=config.method,
        task_id=matrix.task_id,
        chosen_score=chosen_score,
        rejected_score=rejected_score,
        margin=chosen_score - rejected_score,
        kind=kind,
        chosen_id=matrix.solution_ids[chosen],
        rejected_id=matrix.solution_ids[rejected],
    )


def pairs_for_matrix(
    matrix: ExecutionMatrix, config: PairConfig, timer: Timer | None = None
) -> list[PreferencePair]:
    """Every pair one problem yields under `config`."""
    if config.method == "dstc":
        return dstc_pairs(matrix, config)
    ranking = rank_matrix(matrix, config)
    pairs = correctness_pairs(matrix, ranking, config)
    if config.efficiency:
        if timer is None:
            raise ValueError("efficiency pairs need a timer (SandboxTimer for real runs)")
        pairs += efficiency_pairs(matrix, ranking, config, timer)
    return pairs


def kto_rows(pairs: Iterable[PreferencePair]) -> list[dict[str, Any]]:
    """TRL's unpaired format: each pair's chosen side labelled True, rejected side False, once per text."""
    rows, seen = [], set()
    for pair in pairs:
        for completion, label, score in (
            (pair.chosen, True, pair.chosen_score),
            (pair.rejected, False, pair.rejected_score),
        ):
            key = (pair.task_id, pair.kind, completion, label)
            if key in seen:
                continue
            seen.add(key)
            rows.append({
                "prompt": pair.prompt, "completion": completion, "label": label, "method": pair.method,
                "task_id": pair.task_id, "kind": pair.kind, "score": score,
            })  # fmt: skip
    return rows


class SandboxTimer:
    """Times solutions in the sandbox: each repeat is a fresh job running every trusted test.

    Repeats are submitted round-robin (all solutions once, then again) so slow drift in machine load
    falls on every solution alike. A run's time is the sum of its per-test times (the program's own
    start-up is left out); NaN where the run did not pass.
    """

    def __init__(
        self,
        sandbox: Any,
        *,
        test_timeout_s: float = 3.0,
        as_main: bool = False,
        program: Callable[[str, str], str] = lambda prompt, solution: prompt + solution + "\n",
    ) -> None:
        self.sandbox = sandbox
        self.test_timeout_s = test_timeout_s
        self.as_main = as_main
        self.program = program

    def __call__(
        self, prompt: str, solutions: Sequence[str], tests: Sequence[str], repeats: int
    ) -> np.ndarray:
        from codepref.matrix import job_timeout_for
        from codepref.sandbox import Job, Status

        jobs = [
            Job(
                program=self.program(prompt, solution),
                tests=tuple(tests),
                job_id=f"{i}:{r}",
                as_main=self.as_main,
                test_timeout_s=self.test_timeout_s,
                timeout_s=job_timeout_for(len(tests), self.test_timeout_s),
            )
            for r in range(repeats)
            for i, solution in enumerate(solutions)
        ]
        runs = np.full((len(solutions), repeats), np.nan)
        for verdict in self.sandbox.run_many(jobs):
            if verdict.status == Status.SANDBOX_ERROR:
                raise RuntimeError(f"sandbox error while timing job {verdict.job_id}: {verdict.error}")
            i, r = (int(part) for part in verdict.job_id.split(":"))
            if verdict.passed:
                runs[i, r] = sum(result.time_s for result in verdict.tests)
        return runs


# ---- output ---------------------------------------------------------------------------------------------


class PairStore:
    """OUT directory: pairs appended per problem (flushed), progress recorded, parquet and KTO on finish."""

    def __init__(self, out_dir: Path, config: PairConfig) -> None:
        self.out_dir = out_dir
        self.pairs_path = out_dir / "pairs.jsonl"
        self.progress_path = out_dir / "progress.jsonl"
        self.config_path = out_dir / "config.json"
        out_dir.mkdir(parents=True, exist_ok=True)
        settings = json.dumps(asdict(config), sort_keys=True)
        if self.config_path.exists() and self.config_path.read_text() != settings:
            raise ValueError(
                f"{out_dir} holds pairs made with other settings ({self.config_path}); use a new -o"
            )
        self.config_path.write_text(settings)
        self.done = {row["task_id"] for row in _read_jsonl(self.progress_path)}
        # Drop pairs of a problem that was being written when a previous run stopped.
        kept = [row for row in _read_jsonl(self.pairs_path) if row["task_id"] in self.done]
        _write_jsonl(self.pairs_path, kept)

    def add(self, task_id: str, pairs: list[PreferencePair]) -> None:
        with self.pairs_path.open("a") as handle:
            for pair in pairs:
                handle.write(json.dumps(asdict(pair)) + "\n")
        with self.progress_path.open("a") as handle:
            handle.write(json.dumps({"task_id": task_id, "pairs": len(pairs)}) + "\n")
        self.done.add(task_id)

    def finish(self) -> dict[str, int]:
        """Write pairs.parquet, kto.jsonl and kto.parquet from everything in pairs.jsonl."""
        import pandas as pd

        rows = _read_jsonl(self.pairs_path)
        pairs = [PreferencePair(**row) for row in rows]
        frame = pd.DataFrame([asdict(p) for p in pairs], columns=list(PAIR_COLUMNS))
        frame.to_parquet(self.out_dir / "pairs.parquet", index=False)
        kto = kto_rows(pairs)
        _write_jsonl(self.out_dir / "kto.jsonl", kto)
        pd.DataFrame(
            kto, columns=["prompt", "completion", "label", "method", "task_id", "kind", "score"]
        ).to_parquet(self.out_dir / "kto.parquet", index=False)
        return {"problems": len(self.done), "pairs": len(pairs), "kto_rows": len(kto)}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    lines = path.read_text().splitlines()
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            # Only a line cut short by an interrupted write is tolerated: the very last one.
            if line_number == len(lines):
                break
            raise ValueError(f"{path}:{line_number}: not valid JSON") from None
    return rows


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    tmp.replace(path)


def write_pairs(
    matrices: Iterable[ExecutionMatrix],
    out_dir: Path,
    config: PairConfig,
    timer: Timer | None = None,
    progress: Callable[[Iterable[ExecutionMatrix]], Iterator[ExecutionMatrix]] | None = None,
) -> dict[str, int]:
    """Pairs for every matrix into `out_dir`, resuming after the problems already done there."""
    store = PairStore(out_dir, config)
    for matrix in progress(matrices) if progress else matrices:
        if matrix.task_id in store.done:
            continue
        store.add(matrix.task_id, pairs_for_matrix(matrix, config, timer))
    return store.finish()


def pairs_command(
    matrix_file: Annotated[Path, typer.Argument(help="execution matrices written by `codepref matrix`")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="output directory (pairs.jsonl/.parquet, kto.jsonl/.parquet)")
    ],
    method: Annotated[str, typer.Option(help="ranker: codedpo, dstc or codet")] = "codedpo",
    pairs_per_problem: Annotated[int, typer.Option(help="at most this many pairs per problem and kind")] = 1,
    min_margin: Annotated[
        float, typer.Option(help="chosen minus rejected confidence must exceed this")
    ] = 0.0,
    min_top_confidence: Annotated[
        float | None,
        typer.Option(
            help="skip problems whose best confidence is not above this (default: codet 0.1, codedpo 0.3, dstc 0)"
        ),
    ] = None,
    efficiency: Annotated[
        bool | None,
        typer.Option("--efficiency/--no-efficiency", help="time the top group (default: on for codedpo)"),
    ] = None,
    speedup: Annotated[float, typer.Option(help="efficiency pair needs slow/fast >= this")] = 1.2,
    repeats: Annotated[int, typer.Option(help="timing runs per solution (median taken)")] = 5,
    max_timed: Annotated[int, typer.Option(help="top solutions timed per problem")] = 8,
    codet_weight: Annotated[
        str, typer.Option(help="codet: 'count' (paper) or 'sqrt' (released code)")
    ] = "count",
    seed: Annotated[int, typer.Option(help="tie-breaking seed")] = 0,
    backend: Annotated[str, typer.Option(help="sandbox backend for timing")] = "auto",
    workers: Annotated[int, typer.Option(help="sandbox workers for timing")] = 4,
    test_timeout: Annotated[float, typer.Option(help="per-test timeout when timing, seconds")] = 1.0,
) -> None:
    """Rank each problem's solutions and write preference pairs (TRL preference + KTO formats)."""
    from tqdm import tqdm

    from codepref.matrix import load_matrices

    if not matrix_file.exists():
        raise typer.BadParameter(f"{matrix_file} does not exist", param_hint="MATRIX_FILE")
    use_efficiency = method == "codedpo" if efficiency is None else efficiency
    try:
        config = PairConfig(
            method=method, pairs_per_problem=pairs_per_problem, min_margin=min_margin,
            min_top_confidence=min_top_confidence, efficiency=use_efficiency, speedup=speedup,
            timing_repeats=repeats, max_timed=max_timed, seed=seed,
            rank_options={"solution_weight": codet_weight} if method == "codet" else {},
        )  # fmt: skip
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    def progress(items: Iterable[ExecutionMatrix]) -> Iterator[ExecutionMatrix]:
        return iter(tqdm(items, desc=f"pairs ({method})", unit="problem"))

    try:
        if use_efficiency:
            from codepref.sandbox import Limits, Sandbox

            limits = Limits(timeout_s=max(10.0, 4 * test_timeout))
            with Sandbox(backend=backend, workers=workers, limits=limits) as sandbox:
                timer = SandboxTimer(sandbox, test_timeout_s=test_timeout)
                summary = write_pairs(load_matrices(matrix_file), out, config, timer, progress)
        else:
            summary = write_pairs(load_matrices(matrix_file), out, config, None, progress)
    except ValueError as error:  # bad input file or an OUT made with other settings: one line, no trace
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        f"{summary['pairs']} pairs from {summary['problems']} problems, {summary['kto_rows']} KTO rows -> {out}"
    )
