from codepref.tasks.extract import (
    extract_code,
    extract_function,
    fenced_blocks,
    longest_parsable_prefix,
    truncate_at_stop,
)


def test_truncate_at_earliest_stop():
    text = "    return x\n\ndef g():\n    pass\n# done"
    assert truncate_at_stop(text, ["\n#", "\ndef "]) == ("    return x\n", True)
    assert truncate_at_stop(text, ["\nclass "]) == (text, False)
    assert truncate_at_stop(text, []) == (text, False)
    assert truncate_at_stop("a\nifx", ["\nif"]) == ("a", True)  # a plain substring match, as CodeT does


def test_fenced_blocks_take_python_and_untagged_and_unterminated():
    answer = (
        "Here:\n```python\ndef f():\n    return 1\n```\n"
        "Shell:\n```bash\nls\n```\n"
        "Plain:\n```\nx = 2\n```\n"
        "Last:\n```py\ny = 3\n"
    )
    assert fenced_blocks(answer) == ["def f():\n    return 1\n", "x = 2\n", "y = 3\n"]


def test_extract_code_picks_block_defining_entry_point_and_drops_demo_code():
    answer = (
        "First a helper idea:\n```python\ndef helper(x):\n    return x\n```\n"
        "The solution:\n```python\nimport math\n\n@staticmethod\ndef area(r):\n    return math.pi * r * r\n\n"
        "print(area(2))\nassert area(1) > 3\nif __name__ == '__main__':\n    area(3)\n```\n"
    )
    code = extract_code(answer, "area")
    assert "def area(r)" in code and "import math" in code and "@staticmethod" in code
    assert "print(" not in code and "assert" not in code and "__main__" not in code
    assert "helper" not in code


def test_extract_code_without_fences_and_truncated():
    answer = "def f(x):\n    return x + 1\n\ndef g(x):\n    return (x +"
    assert extract_code(answer, "f") == "def f(x):\n    return x + 1\n"


def test_longest_parsable_prefix():
    assert longest_parsable_prefix("a = 1\nb = (2,\n") == "a = 1\n"
    assert longest_parsable_prefix("(((") == ""


def test_extract_function_by_name():
    code = "import os\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n"
    assert extract_function(code, "b") == "def b():\n    return 2\n"
    assert extract_function(code, "c") is None
    assert extract_function("def (", "a") is None
