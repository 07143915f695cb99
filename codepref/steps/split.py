"""A completion's steps: the units a step-level pair prefers one of over another.

A step is one logical line of the function body: a statement, with its indented block when it opens one
(`for`, `if`, `with`, a nested `def`...), a decorator with the definition it decorates, the comments and
blank lines just before a statement with that statement, and a statement that runs over several physical
lines (brackets, backslashes, triple-quoted strings) whole. Or, with `lines_per_step`, a fixed number of
physical lines. The steps joined give back the completion exactly, so the prefix after k steps is the
prompt followed by the first k of them.

Splitting reads `tokenize`'s logical lines, not `ast`: a completion cut at `max_tokens`, or one the model got
wrong, still splits. The part tokenize cannot read (an unclosed bracket or string, a bad dedent) is split
into physical lines.
"""

from __future__ import annotations

import io
import tokenize

# Tokens that neither start a statement nor change the nesting depth.
_NOISE = {tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE, tokenize.ENCODING, tokenize.ENDMARKER}


def split_steps(completion: str, lines_per_step: int | None = None) -> list[str]:
    """The completion's steps in order; `"".join(steps) == completion`. See the module docstring."""
    lines = completion.splitlines(keepends=True)
    if lines_per_step is not None:
        if lines_per_step < 1:
            raise ValueError(f"lines_per_step must be at least 1, got {lines_per_step}")
        return ["".join(lines[i : i + lines_per_step]) for i in range(0, len(lines), lines_per_step)]
    starts, readable = _statement_starts(completion)
    starts += [i for i in range(readable, len(lines)) if i not in starts]
    bounds = sorted(set(starts) | {0}) + [len(lines)]
    return ["".join(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]


def prefix_after(prompt: str, steps: list[str], k: int) -> str:
    """The prompt continued by the first `k` steps."""
    return prompt + "".join(steps[:k])


def _statement_starts(completion: str) -> tuple[list[int], int]:
    """(line index where each step starts, index of the first line tokenize could not read to its end).

    A step starts on the line after the previous step's last logical line ended, so the comments and blank
    lines between two statements go with the later one."""
    starts: list[int] = []
    depth, base = 0, None
    statement_next = True  # the next significant token starts a logical line
    last_end = 0  # the line after the last complete logical line
    previous_decorator = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(completion).readline):
            if token.type == tokenize.INDENT:
                depth += 1
            elif token.type == tokenize.DEDENT:
                depth -= 1
            elif token.type == tokenize.NEWLINE:
                last_end, statement_next = token.start[0], True
            elif token.type not in _NOISE and statement_next:
                statement_next = False
                base = depth if base is None else base
                if depth <= base:
                    if not previous_decorator:
                        starts.append(last_end)
                    previous_decorator = token.string == "@"
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        pass
    else:
        last_end = len(completion.splitlines())
    return starts, last_end
