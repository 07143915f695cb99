"""Prompt builders for the two things sampled per problem: solutions and tests.

A problem's `prompt` is HumanEval-style Python text: either a function header whose docstring the model
continues into a body (HumanEval, CodeT's sanitized MBPP), or a module-level docstring after which the model
writes the whole function (EvalPlus' MBPP+ style, `mbpp_docstring_prompt`). Solutions are sampled from the prompt as is
(completion models) or from a chat-templated request (instruct models). Tests are sampled CodeT-style
(Chen et al., 2022): the prompt with its docstring examples removed, so they cannot be copied, then
`pass`, a comment naming the function under test, and a dangling `assert ` that the model completes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

# Stops for a function-body completion: anything that starts a new top-level statement ends the function.
# The Codex paper's stop set, plus `assert` because test-writing habits otherwise leak into solutions.
BODY_STOPS: tuple[str, ...] = ("\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#", "\nassert ")
# Stops for a whole-function completion after a module docstring: the model writes `def` itself, and any
# helper functions it needs, so only test or script code ends it.
MODULE_STOPS: tuple[str, ...] = ("\nassert ", "\nprint(", "\nif __name__", '\n"""', "\n```")
# A test completion ends at a blank line or at anything that is not one more `assert`.
TEST_STOPS: tuple[str, ...] = ("\n\n", "\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#", "\n```")
CHAT_STOPS: tuple[str, ...] = ()  # chat answers end at the end-of-turn token; code is extracted afterwards

SOLUTION_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, including its signature "
    "and any imports or helpers it needs, in a single ```python code block.\n\n```python\n{prompt}```"
)
TEST_INSTRUCTION = (
    "Write test cases for the following Python function `{entry_point}`, one `assert` statement per line, "
    "each calling `{entry_point}` with concrete arguments and checking the expected result.\n\n"
    "```python\n{prompt}```"
)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt, the stop sequences that go with it, and how its completion becomes code."""

    text: str
    stop: tuple[str, ...]
    kind: str  # "solution" or "test"
    style: str  # "completion" or "chat"
    prefix: str = ""  # text of the program that precedes the completion (the prompt itself for completions)


def mbpp_docstring_prompt(text: str, first_test: str) -> str:
    """An MBPP problem as a module docstring holding the task and one example assert (EvalPlus' MBPP+ format)."""
    text = " ".join(text.split())
    return f'"""\n{text}\n{first_test.strip()}\n"""\n'


def function_prompt(entry_point: str, reference: str, description: str, example: str = "") -> str | None:
    """A HumanEval-style prompt for a problem given as a task sentence (MBPP): the reference solution's
    imports and the entry point's signature, with the sentence and one example assert as its docstring.

    Only the header is taken from the reference, never its body: the same information CodeT's sanitized
    MBPP prompts give. None when the reference does not define `entry_point` at top level.
    """
    try:
        tree = ast.parse(reference)
    except (SyntaxError, ValueError):
        return None
    lines = reference.splitlines()
    imports = [
        ast.get_source_segment(reference, n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    node = next(
        (
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == entry_point
        ),
        None,
    )
    if node is None:
        return None
    header = "\n".join(lines[node.lineno - 1 : node.body[0].lineno - 1]).rstrip()
    if header.count("\n") > 5 or not header.rstrip().endswith(":"):
        # one-liners (`def f(x): return x`) or odd layouts: rebuild the header from the AST
        header = f"def {entry_point}({ast.unparse(node.args)}):"
    doc = " ".join(description.split())
    if example.strip():
        doc += "\n    " + example.strip()
    head = "".join(f"{line}\n" for line in imports if line) + ("\n\n" if imports else "")
    return f'{head}{header.strip()}\n    """{doc}\n    """\n'


def find_function(source: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The top-level (or first nested) function called `name` in `source`, or None if absent or unparsable."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


def ends_inside_function(prompt: str, entry_point: str) -> bool:
    """True when the prompt is a function header plus docstring that the completion continues as the body."""
    if find_function(prompt, entry_point) is not None:
        return True
    # A header whose body is only the docstring still parses once we add a statement; a bare `def ...:`
    # line (no docstring) does not parse at all, so try it with a placeholder body too.
    return find_function(prompt.rstrip() + "\n    pass\n", entry_point) is not None


def solution_stops(prompt: str, entry_point: str) -> tuple[str, ...]:
    return BODY_STOPS if ends_inside_function(prompt, entry_point) else MODULE_STOPS


def solution_prompt(prompt: str, entry_point: str) -> Prompt:
    """Completion style: the model continues the problem text; the program is prompt + completion."""
    return Prompt(
        text=prompt,
        stop=solution_stops(prompt, entry_point),
        kind="solution",
        style="completion",
        prefix=prompt,
    )


def chat_solution_prompt(prompt: str, entry_point: str, tokenizer: Any, system: str | None = None) -> Prompt:
    """Chat style: a request rendered with the tokenizer's chat template; code is extracted from the answer."""
    messages = _messages(SOLUTION_INSTRUCTION.format(prompt=_ensure_newline(prompt)), system)
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return Prompt(text=text, stop=CHAT_STOPS, kind="solution", style="chat")


def codet_test_prompt(prompt: str, entry_point: str) -> Prompt:
    """CodeT style: examples removed, a `pass` body, then `# check the correctness of f` and `assert `."""
    stripped = strip_docstring_examples(prompt, entry_point)
    body = "    pass\n\n" if ends_inside_function(stripped, entry_point) else "\n"
    text = f"{_ensure_newline(stripped)}{body}# check the correctness of {entry_point}\nassert "
    return Prompt(text=text, stop=TEST_STOPS, kind="test", style="completion", prefix="assert ")


def chat_codet_test_prompt(
    prompt: str, entry_point: str, tokenizer: Any, system: str | None = None
) -> Prompt:
    """Chat style test prompt: the same request, with the answer pre-filled up to a dangling `assert `."""
    stripped = strip_docstring_examples(prompt, entry_point)
    if ends_inside_function(stripped, entry_point):
        stripped = _ensure_newline(stripped) + "    pass\n"
    messages = _messages(
        TEST_INSTRUCTION.format(prompt=_ensure_newline(stripped), entry_point=entry_point), system
    )
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    text += f"```python\n# check the correctness of {entry_point}\nassert "
    return Prompt(text=text, stop=TEST_STOPS, kind="test", style="chat", prefix="assert ")


# --- docstring example removal ---------------------------------------------------------------------------

# Example headers: "For example, ...", "Example 2:", "Examples", "[input/output] samples:".
# ("examble" is a typo in HumanEval/67.) "Example, the intersection of ..." is prose and does not match.
_EXAMPLE_HEADER = re.compile(
    r"^for\s+exam[pb]les?\b|^exam[pb]les?(\s*\d+)?\s*(:.*)?$|^(\[[^\]]*\]\s*)?samples?\s*:",
    re.IGNORECASE,
)
# Lines that explain an example rather than describe the task.
_EXAMPLE_CONTINUATION = re.compile(r"^(input|output|explanation|result)\b|^(#|=>|->|==>|➞)", re.IGNORECASE)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_marked_example(text: str) -> bool:
    """Doctest prompts and 'Example(s):' / 'For example' headers (`text` is stripped)."""
    return text.startswith(">>>") or _EXAMPLE_HEADER.match(text) is not None


def _is_call_line(text: str, entry_point: str) -> bool:
    """`f(1) == 2`, `f(1) ➞ 2`, `for f(7, 34, 12) == 34`: a call of the function opening the line."""
    return re.match(rf"^(for\s+)?{re.escape(entry_point)}\s*\(", text) is not None


def strip_docstring_examples(prompt: str, entry_point: str) -> str:
    """Remove the usage examples from the entry point's docstring, keeping the rest of the description.

    Examples open with a doctest (`>>>`), an 'Example:'/'For example' header, a line calling the function
    (`f(2) ➞ 4`) or, for MBPP+ style prompts, an `assert` calling it. An example runs on through its
    paragraph, and through following paragraphs that open with another example or are indented deeper
    than the description; it ends at a paragraph in plain description (a trailing 'Note:' section stays).
    A run of call lines followed by description in the same paragraph is a definition, not an example
    (`fib4(n) -> fib4(n-1) + ...` in HumanEval/46), and stays. Checked against CodeT's own example-free
    HumanEval prompts in tests/test_prompts.py.
    """
    span = _docstring_span(prompt, entry_point)
    if span is None:
        return prompt
    lines = prompt.splitlines(keepends=True)
    first, last = span  # 0-based indices of the docstring's opening and closing lines
    quote = '"""' if '"""' in lines[last] else "'''"
    inner = list(range(first + 1, last))
    if lines[last].strip() != quote:  # closing quotes share a line with text: split them off
        inner.append(last)
    removed = _example_lines(lines, inner, entry_point, quote)
    body = [lines[i] for i in inner if i not in removed]
    if lines[last].strip() != quote and last not in removed:
        body[-1] = body[-1].replace(quote, "").rstrip() + "\n"
    while body and not body[-1].strip():
        body.pop()
    base = min((_indent(lines[i]) for i in inner if lines[i].strip()), default=_indent(lines[first]) + 4)
    closing = lines[last] if lines[last].strip() == quote else " " * base + quote + "\n"
    opening = lines[first]
    if opening.strip() != quote and _is_marked_example(opening.strip().lstrip("\"'").strip()):
        return prompt  # the whole docstring is an example: leave the prompt alone rather than empty it
    return "".join(lines[:first] + [opening] + body + [closing] + lines[last + 1 :])


def _example_lines(lines: list[str], inner: list[int], entry_point: str, quote: str) -> set[int]:
    texts = {i: lines[i].replace(quote, "").strip() for i in inner}
    base = min((_indent(lines[i]) for i in inner if texts[i]), default=0)
    removed: set[int] = set()
    in_example = False
    new_paragraph = True
    for pos, i in enumerate(inner):
        text = texts[i]
        if not text:
            if in_example:
                removed.add(i)
            new_paragraph = True
            continue
        starts = _is_marked_example(text) or (text.startswith("assert ") and entry_point in text)
        if not starts and _is_call_line(text, entry_point):
            starts = not _followed_by_description(inner[pos + 1 :], texts, entry_point)
        if starts:
            in_example = True
        elif in_example:
            continues = _EXAMPLE_CONTINUATION.match(text) is not None or _indent(lines[i]) > base
            if new_paragraph or (not continues and _previous_is_call(inner[:pos], texts, entry_point)):
                in_example = continues
        if in_example:
            removed.add(i)
        new_paragraph = False
    return removed


def _followed_by_description(rest: list[int], texts: dict[int, str], entry_point: str) -> bool:
    """Whether the paragraph goes on, after this call line, with a line of plain description."""
    for i in rest:
        text = texts[i]
        if not text:
            return False
        if not (_is_call_line(text, entry_point) or _EXAMPLE_CONTINUATION.match(text)):
            return True
    return False


def _previous_is_call(before: list[int], texts: dict[int, str], entry_point: str) -> bool:
    """Whether the closest non-blank line before is a call line (doctest output after `>>>` is not prose)."""
    for i in reversed(before):
        if texts[i]:
            return _is_call_line(texts[i], entry_point) or _EXAMPLE_CONTINUATION.match(texts[i]) is not None
    return False


def _docstring_span(prompt: str, entry_point: str) -> tuple[int, int] | None:
    """0-based (opening line, closing line) of the entry point's docstring, else of the module docstring."""
    try:
        tree = ast.parse(prompt)  # a header whose body is just the docstring parses as it is
    except (SyntaxError, ValueError):
        return None
    node = find_function(prompt, entry_point)
    owner = node if node is not None else tree
    # Normally the first statement; HumanEval/115 puts an `import` before its "docstring", so look further.
    doc = next((stmt for stmt in owner.body[:3] if _is_string_expr(stmt)), None)
    if doc is None:
        return None
    if doc.lineno == doc.end_lineno:
        return None  # a one-line docstring has no separate example lines to drop
    return doc.lineno - 1, doc.end_lineno - 1


def _is_string_expr(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _messages(user: str, system: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": user}]
