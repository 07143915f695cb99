"""The markdown job summary: a row per gate, speed figures with their peer and ratio, wall times, failures."""

from __future__ import annotations

from codepref.gates.run import BenchmarkResult
from codepref.gates.summary import markdown_summary


def result(**fields) -> BenchmarkResult:
    base = dict(name="rerank-codet", fingerprint="f", status="finished", wall_s=620.0, finished_at="t")
    return BenchmarkResult(**(base | fields))


def test_the_summary_marks_each_gate_and_lists_failures_last() -> None:
    passed = result(
        gates=[
            {
                "gate": "codet-reproduces-paper",
                "passed": True,
                "value": 36.93,
                "threshold": "36.7 ± 1.0",
                "detail": "",
            }
        ]
    )
    failed = result(
        name="eval-vs-reference",
        wall_s=300.0,
        gates=[
            {
                "gate": "codegen16b-verdicts-agree",
                "passed": False,
                "value": 1,
                "threshold": "only the 0 listed",
                "detail": "1 not listed: HumanEval/10#1",
            }
        ],
        speed=[{"label": "canonical", "ours": 2.0, "peer": 6.0, "unit": "s", "ratio": 3.0}],
    )
    kept = result(name="reference-solutions", wall_s=50.0, reused=True)
    summary = markdown_summary([passed, failed, kept], "benchmarks/gates.toml")
    assert summary.startswith("## codepref bench: 1 failed")
    assert "| rerank-codet | codet-reproduces-paper | 36.93 | 36.7 ± 1.0 | ✅ |" in summary
    assert (
        "| eval-vs-reference | codegen16b-verdicts-agree | 1 | only the 0 listed | ❌ 1 not listed: HumanEval/10#1 |"
        in summary
    )
    assert "| eval-vs-reference | canonical | 2.00 s | 6.00 s | 3.00x |" in summary
    assert "| reference-solutions | 50 s | kept from t |" in summary
    assert "| total | 920 s | this run |" in summary
    assert summary.rstrip().endswith(
        "- eval-vs-reference/codegen16b-verdicts-agree: 1 not listed: HumanEval/10#1"
    )


def test_a_benchmark_that_did_not_finish_gets_a_failed_row() -> None:
    summary = markdown_summary([result(status="missing data file(s) in /d: x.jsonl")], "gates.toml")
    assert "| rerank-codet | (run) | | | ❌ missing data file(s) in /d: x.jsonl |" in summary
