"""Turn raw model text into runnable code: stop-sequence truncation, fenced-block and function extraction.
(Test snippets are extracted from sampled test completions by `codepref.matrix.extraction`.)"""

from __future__ import annotations

import ast
import re
from typing import Any

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}


def truncate_at_stop(text: str, stops: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest stop sequence; also report whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def tokens_covering(tokenizer: Any, tokens: list[int], chars: int) -> int:
    """Fewest leading tokens whose decoded text reaches `chars` characters (binary search): the tokens a
    completion cut at a stop string keeps."""
    low, high = 0, len(tokens)
    while low < high:
        mid = (low + high) // 2
        if len(tokenizer.decode(tokens[:mid], skip_special_tokens=True)) >= chars:
            high = mid
        else:
            low = mid + 1
    return low


def fenced_blocks(text: str) -> list[str]:
    """Contents of the ```-fenced code blocks tagged as Python (or untagged), in order.

    An unterminated final block (the answer ran out of tokens) counts up to the end of the text.
    """
    return [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in _PYTHON_TAGS]


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: source with null bytes
        return False
    return True


def longest_parsable_prefix(code: str) -> str:
    """Drop trailing lines until the code parses (a sample cut by `max_tokens` mid-statement)."""
    lines = code.splitlines(keepends=True)
    for end in range(len(lines), 0, -1):
        candidate = "".join(lines[:end])
        if parses(candidate):
            return candidate
    return ""


def defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name for n in tree.body)


def keep_definitions(code: str) -> str:
    """Keep imports, functions, classes and top-level assignments; drop demo code (prints, asserts,
    `if __name__ == "__main__":` blocks, bare calls), which would run, and could fail, during tests."""
    tree = ast.parse(code)
    kept = (
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Assign,
        ast.AnnAssign,
    )
    lines = code.splitlines(keepends=True)
    parts = []
    for node in tree.body:
        if isinstance(node, kept):
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            parts.append("".join(lines[start : node.end_lineno]))
    return "\n".join(part.rstrip("\n") + "\n" for part in parts)


def extract_code(answer: str, entry_point: str | None = None) -> str:
    """The program in a chat answer: the fenced block that defines `entry_point` (else the last fenced
    block, else the whole answer), cut back to what parses, with demo code dropped."""
    blocks = fenced_blocks(answer) or [answer]
    chosen = blocks[-1]
    if entry_point:
        defining = [b for b in blocks if defines(longest_parsable_prefix(b), entry_point)]
        chosen = defining[0] if defining else chosen
    code = longest_parsable_prefix(chosen)
    return keep_definitions(code) if code else ""


def extract_function(code: str, name: str) -> str | None:
    """Source of the top-level function `name` (with decorators), or None when it is not defined."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    lines = code.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            return "".join(lines[start : node.end_lineno])
    return None
