"""How long ranking takes: every ranker on 164 synthetic problems of 100 solutions x 500 tests.

The matrices imitate sampled code and tests: each problem has a few behaviour clusters (one correct, the
rest wrong in different ways), every test is right or wrong with some probability, and a solution passes a
test when its cluster agrees with the test's expectation (plus a little noise). Target: under 1 s per
ranker for all 164 problems.

    python benchmarks/rank_speed.py [--problems 164] [--solutions 100] [--tests 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from codepref.rank import RANKERS, rank
from codepref.rank.dstc import select_pair


def synthetic_problem(rng: np.random.Generator, solutions: int, tests: int) -> tuple[np.ndarray, np.ndarray]:
    clusters = int(rng.integers(2, 8))
    cluster_of = rng.integers(0, clusters, size=solutions)
    # behaviour[c, t]: does cluster c's program satisfy test t's expectation? Cluster 0 is the correct one.
    test_is_right = rng.random(tests) < rng.uniform(0.3, 0.9)
    behaviour = rng.random((clusters, tests)) < 0.4
    behaviour[0] = test_is_right
    passed = behaviour[cluster_of] ^ (rng.random((solutions, tests)) < 0.02)
    counts = rng.integers(1, 4, size=tests)
    return passed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=164)
    parser.add_argument("--solutions", type=int, default=100)
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed passes")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    problems = [synthetic_problem(rng, args.solutions, args.tests) for _ in range(args.problems)]
    print(f"{args.problems} problems of {args.solutions} solutions x {args.tests} tests")

    timed = {name: (lambda p, c, name=name: rank(name, p, test_counts=c)) for name in RANKERS}
    timed["dstc pair selection"] = lambda p, c: select_pair(p, test_counts=c)
    for name, run in timed.items():
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            for passed, counts in problems:
                run(passed, counts)
            best = min(best, time.perf_counter() - started)
        verdict = "ok" if best < 1.0 else "over the 1 s target"
        print(
            f"{name:>20}: {best:.3f} s for all problems ({1000 * best / args.problems:.2f} ms each)  {verdict}"
        )


if __name__ == "__main__":
    main()
