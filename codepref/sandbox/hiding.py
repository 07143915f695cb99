"""Which job gets which test, so that no value the host hides is written anywhere in a job's text.

A split check hides its constants (`Check.held`), but another statement of the job may repeat one: a test
that also runs `s = 'ab'` as written, next to a test expecting `'ab'`. The rule:

- a test whose text carries a value another test of the job hides is moved to a second job: the same
  program with the moved tests only (`groups`), whose verdicts the pool merges back into one;
- within each job, a check whose value the job's text carries anyway (its own test repeats it, as
  HumanEval/151's `i > 0` repeats the expected `0`) is not hidden: the job computes its constants and
  reports them with its value, as for a computed expected side (`split_test(text, revealed)`), again
  until nothing hidden is carried.

Values are compared as Python's `==` would (`value_key`), so `True` in a job's text reveals a hidden `1`.
Checks a builder splits (`SplitTest`s passed in a job) keep their own values and are never moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from codepref.sandbox.fold import value_key
from codepref.sandbox.split import SplitTest, ValueReport, split_test

Test = str | SplitTest | ValueReport


def groups(tests: Sequence[Test]) -> tuple[tuple[tuple[int, ...], tuple[SplitTest | ValueReport, ...]], ...]:
    """The jobs to run for `tests`: each as the indices of its tests and their job-side forms. One group
    unless some test repeats a value another hides; then the repeating tests form a second one."""
    if all(isinstance(test, str) for test in tests):
        return _groups_of_texts(tuple(tests))
    return _groups(tests)


@lru_cache(maxsize=1 << 10)
def _groups_of_texts(tests: tuple[str, ...]):
    return _groups(tests)  # a matrix runs each problem's tests with many programs: plan them once


def _groups(tests: Sequence[Test]):
    splits = [_settled(test) if isinstance(test, str) else test for test in tests]
    holders: dict = {}
    for index, split in enumerate(splits):
        for key in _held(split):
            holders.setdefault(key, set()).add(index)
    moved = {
        index
        for index, split in enumerate(splits)
        if any(holders.get(key, set()) - {index} for key in _exposed(split))
    }
    parts = [[i for i in range(len(tests)) if i not in moved], sorted(moved)]
    return tuple((tuple(part), _settle([tests[i] for i in part])) for part in parts if part) or (((), ()),)


@lru_cache(maxsize=1 << 16)
def _settled(text: str) -> SplitTest:
    """The test split with nothing hidden that its own text repeats."""
    return _settle([text])[0]


def _settle(tests: list[Test]) -> tuple[SplitTest | ValueReport, ...]:
    """The tests split for one job, revealing (not hiding) every value the job's text carries anyway."""
    revealed: frozenset = frozenset()
    while True:
        splits = [_split(test, revealed) for test in tests]
        carried = frozenset().union(*(_exposed(split) for split in splits))
        leaked = carried & frozenset().union(
            *(_held(s) for t, s in zip(tests, splits, strict=True) if isinstance(t, str))
        )
        if not leaked:
            return tuple(splits)
        revealed |= leaked


def _split(test: Test, revealed: frozenset) -> SplitTest | ValueReport:
    if not isinstance(test, str):
        return test
    hidden = _held(split_test(test))
    return split_test(test, revealed & hidden)  # only what this test hides: its cache entry is shared


def _held(split: SplitTest | ValueReport) -> frozenset:
    if not isinstance(split, SplitTest):
        return frozenset()
    return frozenset(value_key(value) for check in split.checks for value in check.held())


def _exposed(split: SplitTest | ValueReport) -> frozenset:
    return split.exposed if isinstance(split, SplitTest) else frozenset()
