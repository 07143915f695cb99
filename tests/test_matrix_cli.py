"""`codepref matrix` on a problem file, in the real sandbox."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codepref.matrix.format import load_matrices


@pytest.mark.docker
def test_matrix_command_on_a_problem_file(tmp_path):
    import typer
    from typer.testing import CliRunner

    from codepref.matrix.cli import matrix_command

    problems = tmp_path / "problems.jsonl"
    problems.write_text(
        json.dumps(
            {
                "task_id": "toy/neg",
                "prompt": "def neg(x):\n",
                "entry_point": "neg",
                "solutions": ["    return -x\n", "    return x\n"],
                "raw_tests": ["neg(2) == -2\nassert neg(0) == 0\n", "neg(2) == -2\n"],
            }
        )
        + "\n"
    )
    app = typer.Typer()
    app.command()(matrix_command)
    out = tmp_path / "m.jsonl"
    result = CliRunner().invoke(app, [str(problems), "-o", str(out), "--backend", "docker", "--workers", "1"])
    assert result.exit_code == 0, result.output
    (matrix,) = load_matrices(out)
    assert matrix.tests == ["assert neg(2) == -2", "assert neg(0) == 0"] and matrix.test_counts == [2, 1]
    np.testing.assert_array_equal(matrix.passed, [[True, True], [False, True]])
    bad = CliRunner().invoke(app, [str(tmp_path / "missing.jsonl"), "-o", str(out)])
    assert bad.exit_code == 2 and "no such problem file" in bad.output


def test_matrix_command_adds_the_prompts_examples_as_weighted_tests(tmp_path):
    import typer
    from typer.testing import CliRunner

    from codepref.matrix.cli import matrix_command

    problems = tmp_path / "problems.jsonl"
    prompt = 'def neg(x):\n    """Negate x.\n    >>> neg(3)\n    -3\n    """\n'
    problems.write_text(
        json.dumps(
            {
                "task_id": "toy/neg",
                "prompt": prompt,
                "entry_point": "neg",
                "solutions": ["    return -x\n", "    return x\n"],
                "raw_tests": ["neg(0) == 0\n"],
            }
        )
        + "\n"
    )
    app = typer.Typer()
    app.command()(matrix_command)
    out = tmp_path / "m.jsonl"
    args = [str(problems), "-o", str(out), "--backend", "process", "--workers", "1", "--prompt-examples", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (matrix,) = load_matrices(out)
    assert matrix.tests == ["assert neg(0) == 0", "assert neg(3) == -3"] and matrix.test_counts == [1, 3]
    np.testing.assert_array_equal(matrix.passed, [[True, True], [True, False]])
