"""Code x test execution matrices: which sampled solution passes which sampled test.

`extraction` turns sampled test completions into test snippets (CodeT's rules), `examples` adds the
prompt's own examples as weighted tests, `build` runs them in the sandbox (one job per distinct solution,
resumable; `SandboxMatrixBuilder` in memory, for the execution judge), `format` is the JSONL file format,
`inputs` reads the command line's problem files, `cli` is `codepref matrix`; `accuracy` measures sampled tests
against the canonical solution (for benchmarks).
"""

from codepref.matrix.build import (
    BuildStats,
    MatrixProblem,
    SandboxMatrixBuilder,
    build_matrices,
    job_timeout_for,
    tests_job,
)
from codepref.matrix.examples import (
    DEFAULT_EXAMPLE_WEIGHT,
    examples_problem,
    join_examples,
    prompt_example_tests,
    with_example_tests,
)
from codepref.matrix.extraction import (
    CODET_TEST_TIMEOUT_S,
    CODET_TESTS_PER_SAMPLE,
    DEFAULT_TEST_TIMEOUT_S,
    TestPool,
    collect_tests,
    extract_tests,
    snippet_id,
)
from codepref.matrix.format import FORMAT, ExecutionMatrix, load_matrices, save_matrices
from codepref.matrix.inputs import codet_problems, matrix_problem, read_problem_file

__all__ = [
    "CODET_TESTS_PER_SAMPLE",
    "CODET_TEST_TIMEOUT_S",
    "DEFAULT_EXAMPLE_WEIGHT",
    "DEFAULT_TEST_TIMEOUT_S",
    "FORMAT",
    "BuildStats",
    "ExecutionMatrix",
    "MatrixProblem",
    "SandboxMatrixBuilder",
    "TestPool",
    "build_matrices",
    "codet_problems",
    "collect_tests",
    "examples_problem",
    "extract_tests",
    "job_timeout_for",
    "join_examples",
    "load_matrices",
    "matrix_problem",
    "prompt_example_tests",
    "read_problem_file",
    "save_matrices",
    "snippet_id",
    "tests_job",
    "with_example_tests",
]
