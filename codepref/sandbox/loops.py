"""Literal loops: `for x, y in [(1, 2), (3, 4)]: assert f(x) == y` and `assert all(f(x) == y for x, y in ...)`.

Such a loop carries its expected values in its own data. It is split when every name of its target that an
expected side uses is used nowhere else (`hidden`): the job then loops over the other parts of each row
only (`for (x,) in ((1,), (3,),)`), and the host keeps each iteration's expected values, one check per
iteration and per part of each assert, all required. Only flat targets (`x` or `a, b, ...`) over a list or
tuple display whose rows are displays of the target's length are split, and the hidden items must fold to
constants; anything else runs as it always did, its asserts split one by one with the job computing `y`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codepref.sandbox.fold import fold, is_constant
from codepref.sandbox.shapes import Constant, Part, parts_of


@dataclass(frozen=True)
class LiteralLoop:
    """A loop split: which target positions still travel, and each assert's parts, per iteration."""

    names: tuple[str, ...]
    kept: tuple[int, ...]  # positions of `names` the job still loops over
    rows: tuple[tuple[ast.expr, ...], ...]
    parts: tuple[tuple[tuple[Part | ast.expr, ...], ...], ...]  # [assert][iteration] -> its parts

    def target_text(self) -> str:
        return _tuple_text([self.names[i] for i in self.kept])

    def rows_text(self, segment: Callable[[ast.AST], str]) -> str:
        return _tuple_text([_tuple_text([segment(row[i]) for i in self.kept]) for row in self.rows])


def _tuple_text(items: list[str]) -> str:
    return f"({', '.join(items)},)" if items else "()"


def literal_loop(
    target: ast.expr,
    iterable: ast.expr,
    tests: list[ast.expr],
    uses: Callable[[str], list[ast.Name]],
    constant: Callable[[dict[str, Any]], Constant],
) -> LiteralLoop | None:
    """The split of a loop whose asserts test `tests` (each an assert's test, or the generator's element),
    else None. `uses(name)` lists every Name node of that name in the loop variable's scope, the target's own
    included; `constant(names)` folds a node with the loop's hidden names bound."""
    names = _flat_names(target)
    rows = _rows(iterable, names, single=isinstance(target, ast.Name))
    if names is None or rows is None:
        return None
    targets = {id(node) for node in ast.walk(target)}
    hidden = {
        i
        for i, name in enumerate(names)
        if names.count(name) == 1 and all(is_constant(row[i]) for row in rows)
    }
    parts: list[list[Part | ast.expr]] = []
    while hidden:  # drop names used anywhere but in a constant the host keeps, until none is left to drop
        parts = [parts_of(test, constant(_bound(names, hidden, rows[0]))) for test in tests]
        held = {id(node) for part in _host_parts(parts) for c in part.constants for node in ast.walk(c)}
        misused = {i for i in hidden if any(id(use) not in held | targets for use in uses(names[i]))}
        if not misused:
            break
        hidden -= misused
    held_names = {
        node.id
        for p in _host_parts(parts)
        for c in p.constants
        for node in ast.walk(c)
        if isinstance(node, ast.Name)
    }
    if not held_names & {names[i] for i in hidden}:
        return None  # no expected side uses the loop's data: nothing to keep here
    per_row = [[parts_of(test, constant(_bound(names, hidden, row))) for test in tests] for row in rows]
    if any(_shape(row_parts) != _shape(parts) for row_parts in per_row):
        return None
    by_test = tuple(tuple(tuple(row_parts[t]) for row_parts in per_row) for t in range(len(tests)))
    kept = tuple(i for i in range(len(names)) if i not in hidden)
    return LiteralLoop(tuple(names), kept, tuple(tuple(row) for row in rows), by_test)


def _flat_names(target: ast.expr) -> list[str] | None:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts):
        return [element.id for element in target.elts]
    return None


def _rows(iterable: ast.expr, names: list[str] | None, single: bool) -> list[list[ast.expr]] | None:
    if names is None or not isinstance(iterable, (ast.List, ast.Tuple)) or not iterable.elts:
        return None
    rows = []
    for element in iterable.elts:
        if isinstance(element, ast.Starred):
            return None
        if single:
            rows.append([element])
        elif isinstance(element, (ast.Tuple, ast.List)) and len(element.elts) == len(names):
            if any(isinstance(item, ast.Starred) for item in element.elts):
                return None
            rows.append(list(element.elts))
        else:
            return None
    return rows


def _bound(names: list[str], hidden: set[int], row: list[ast.expr]) -> dict[str, Any]:
    return {names[i]: fold(row[i]) for i in hidden}


def _host_parts(parts: list[list[Part | ast.expr]]) -> list[Part]:
    return [part for test_parts in parts for part in test_parts if isinstance(part, Part)]


def _shape(parts: list[list[Part | ast.expr]]) -> list:
    """What must not differ between iterations: the nodes computed, kept and held, and the relations."""
    return [
        [
            (id(p.computed), tuple(map(id, p.constants)), p.relation, p.equal, id(p.expected_node))
            if isinstance(p, Part)
            else id(p)
            for p in test_parts
        ]
        for test_parts in parts
    ]
