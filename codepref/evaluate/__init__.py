"""Evaluation: check samples against HumanEval(+)/MBPP(+) in the sandbox and report pass@k (`runner`,
file-based and resumable), or judge programs in memory by the hidden tests (`verdicts`)."""

from codepref.evaluate.expected import with_expected_outputs
from codepref.evaluate.harness import EvalReport, check_references, evaluate_samples
from codepref.evaluate.jobs import build_job
from codepref.evaluate.passk import mean_pass_at_k, pass_at_k

__all__ = [
    "EvalReport",
    "build_job",
    "check_references",
    "evaluate_samples",
    "mean_pass_at_k",
    "pass_at_k",
    "with_expected_outputs",
]
