"""A test's text as split tests rewrite it: one kind of line ending, no comments, segments by AST node.

Line endings are normalised first (`\\r\\n` and a lone `\\r` become `\\n`), as Python's own compiler does with
source text, so that `ast` positions, `tokenize` positions and the line starts counted here all agree; the
job receives the normalised text, which compiles to the same code. Comments are cut with `tokenize`, each
from its `#` to the end of its line, so every line keeps its number and every token before a comment keeps
its column. Offsets are UTF-8 byte offsets, as `ast` columns are.
"""

from __future__ import annotations

import ast
import io
import tokenize


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_comments(text: str) -> str:
    """`text` (normalised) without its comments; raises what `tokenize` raises on text it cannot read."""
    cuts: dict[int, int] = {}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            cuts[token.start[0]] = token.start[1]
    lines = text.split("\n")
    for number, column in cuts.items():
        lines[number - 1] = lines[number - 1][:column].rstrip(" \t")
    # A comment on the last line may have been all that followed a line continuation: end that line.
    return "\n".join(lines) + ("\n" if len(lines) in cuts else "")


class Source:
    """Normalised text as UTF-8 bytes, for cutting out and replacing AST nodes by position."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.starts = [0, 0]  # ast lines count from 1
        self.starts += [index + 1 for index, byte in enumerate(self.data) if byte == 0x0A]

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.starts[node.lineno] + node.col_offset
        return start, self.starts[node.end_lineno] + node.end_col_offset

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode()

    def replaced(self, replacements: list[tuple[int, int, str]]) -> str:
        """The text with each (start, end, new text) applied; a new text shorter in lines than what it replaces
        gets the missing line breaks before its last character (a closing bracket), so later lines keep their
        numbers."""
        data = self.data
        for start, end, text in sorted(replacements, reverse=True):
            missing = data[start:end].count(b"\n") - text.count("\n")
            if missing > 0:
                text = text[:-1] + "\n" * missing + text[-1]
            data = data[:start] + text.encode() + data[end:]
        return data.decode()
