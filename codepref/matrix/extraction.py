"""Test extraction the way CodeT's released code (microsoft/CodeT, `src/postprocess.py` and `main.py`) turns
raw sampled test completions into test snippets: prefix the completion with `assert `, split on `assert `,
keep the pieces that mention the entry point, cut each at the stop sequences, keep the ones that compile,
take the first `limit` (5) of each sample, then deduplicate the problem's pooled snippets while counting
how many times each one was sampled.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codepref.data.codet_samples import CODET_STOP_SEQUENCES
from codepref.tasks.extract import truncate_at_stop

# CodeT's `--test_case_limit` default: the first 5 valid test snippets of each sampled completion.
CODET_TESTS_PER_SAMPLE = 5
# CodeT's `--timeout` default: 0.1 s per test snippet.
CODET_TEST_TIMEOUT_S = 0.1
# The default for the samples of models run here: CodeT's 0.1 s misjudges tests on a loaded CPU machine (its
# reproduction, benchmarks/rerank_codet.py, keeps CodeT's).
DEFAULT_TEST_TIMEOUT_S = 1.0


def compiles_as_test(snippet: str) -> bool:
    """CodeT's validity rule (the snippet compiles as the body of a `try:` block), plus: it compiles on its
    own, which is how the sandbox runs it."""
    if "assert" not in snippet:
        return False
    indented = snippet.replace("\n", "\n    ")
    try:
        compile(f"try:\n    {indented}\nexcept:\n    pass\n", "<test>", "exec")
        compile(snippet, "<test>", "exec")
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return False
    return True


def extract_tests(
    raw: str,
    entry_point: str,
    *,
    limit: int | None = CODET_TESTS_PER_SAMPLE,
    stops: Sequence[str] = CODET_STOP_SEQUENCES,
) -> list[str]:
    """The test snippets of one sampled test completion (the text that followed a prompt ending `assert `).

    Pieces between `assert ` markers are kept when they mention the entry point (checked before cutting at
    the stop sequences, as CodeT does), cut at the first stop sequence, stripped, and kept when they
    compile; the first `limit` survivors are returned (all of them when `limit` is None).
    """
    snippets = []
    for piece in f"assert {raw}".split("assert "):
        if not piece.strip() or entry_point.strip() not in piece:
            continue
        snippet = truncate_at_stop(f"assert {piece}".strip(), stops)[0].strip()
        if snippet and compiles_as_test(snippet):
            snippets.append(snippet)
    return snippets if limit is None else snippets[:limit]


@dataclass(frozen=True)
class TestPool:
    """A problem's distinct test snippets in first-seen order, with how often each was sampled."""

    __test__ = False  # not a pytest test class

    tests: list[str]
    counts: list[int]

    @property
    def ids(self) -> list[str]:
        return [snippet_id(t) for t in self.tests]


def collect_tests(
    raw_samples: Iterable[str],
    entry_point: str,
    *,
    limit: int | None = CODET_TESTS_PER_SAMPLE,
    stops: Sequence[str] = CODET_STOP_SEQUENCES,
) -> TestPool:
    """Extract every sample's tests, pool them, and deduplicate while keeping the sampling counts."""
    counts: Counter[str] = Counter()
    for raw in raw_samples:
        counts.update(extract_tests(raw, entry_point, limit=limit, stops=stops))
    tests = list(counts)  # Counter keeps first-insertion order
    return TestPool(tests=tests, counts=[counts[t] for t in tests])


def snippet_id(test: str) -> str:
    """A stable id for a test snippet: it does not depend on the order the snippets were sampled in."""
    return "t" + hashlib.sha1(test.encode("utf-8")).hexdigest()[:12]
