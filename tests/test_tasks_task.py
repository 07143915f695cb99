"""Problems as the loop samples them (codepref.tasks.task), and how sampled text becomes the program that runs."""

import json

import pytest
from data_dir import DATA_DIR as DATA

from codepref.data import load_problems
from codepref.tasks import make_task, program, solution_parts


@pytest.mark.docker
def test_loop_programs_pass_with_reference_completions(tmp_path):
    """The programs the loop builds from a prompt and a completion are what the benchmark harness expects:
    with the reference solution as the completion, every one passes `codepref eval`'s runner."""
    import ast
    import textwrap

    from codepref.data import load_problems
    from codepref.evaluate.harness import evaluate_samples

    def reference_body(problem) -> str | None:
        """The entry point's body from a reference that is only imports and that one function."""
        tree = ast.parse(problem.canonical_solution)
        kinds = {type(node) for node in tree.body}
        if (
            kinds - {ast.Import, ast.ImportFrom, ast.FunctionDef}
            or len([n for n in tree.body if isinstance(n, ast.FunctionDef)]) != 1
        ):
            return None
        node = tree.body[-1]
        lines = problem.canonical_solution.splitlines(keepends=True)[
            node.body[0].lineno - 1 : node.end_lineno
        ]
        # re-indented to the prompt's four spaces (references use tabs or two spaces)
        return textwrap.indent(textwrap.dedent("".join(line.expandtabs(4) for line in lines)), "    ")

    for benchmark, split in (("humaneval", None), ("mbpp", "test")):
        problems = load_problems(benchmark, DATA, split=split)
        rows = []
        for problem in problems:
            completion = problem.canonical_solution if benchmark == "humaneval" else reference_body(problem)
            if completion is None:
                continue
            task = make_task(problem, benchmark)
            rows.append({"task_id": problem.task_id, "solution": program(task, "completion", completion)})
            if len(rows) == 4:
                break
        samples = tmp_path / f"{benchmark}.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        report = evaluate_samples(
            benchmark, samples, ks=[1], workers=2, data_dir=DATA, split=split, progress=False
        )
        assert report.problems_evaluated == 4 and report.scores["pass@1"] == 1.0, (benchmark, report.statuses)


def test_chat_answers_become_programs_with_the_prompts_imports():
    task = make_task(load_problems("humaneval")[0])
    answer = (
        "Here you go:\n```python\ndef has_close_elements(numbers, threshold):\n    return any(\n"
        "        abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n\n"
        "print(has_close_elements([1.0], 0.5))\n```\nDone."
    )
    prefix, code = solution_parts(task, "chat", answer)
    assert prefix == "from typing import List\n\n"  # the prompt's imports, which chat answers often omit
    assert code.startswith("def has_close_elements(numbers, threshold):") and "print(" not in code
