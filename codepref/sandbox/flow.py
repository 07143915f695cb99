"""Control flow split tests rely on: which asserts run exactly once, which a handler may expect to raise.

A check is required (a pass needs its report) only where it runs exactly once when the test runs to its
end: at the test's top level, or at the top level of a function the test defines and calls once, as
HumanEval's `check(candidate)` is, when that function cannot return early. A literal loop is unrolled into
per-iteration checks only when nothing in its body can skip an iteration's asserts.
"""

from __future__ import annotations

import ast

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def straight_line_bodies(tree: ast.Module) -> list[list[ast.stmt]]:
    """The statement lists that run exactly once, to their end, when the test runs to its end."""
    bodies = [tree.body]
    calls = [
        statement.value.func.id
        for statement in tree.body
        if isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
    ]
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef) or calls.count(statement.name) != 1:
            continue
        defined_once = (
            sum(isinstance(n, ast.FunctionDef) and n.name == statement.name for n in tree.body) == 1
        )
        *body, last = statement.body
        if isinstance(last, ast.Return):  # a `return` as the last statement ends nothing early
            body += [last.value] if last.value is not None else []
        else:
            body.append(last)
        if defined_once and not _escapes(body, in_loop=False):
            bodies.append(statement.body)
    return bodies


def loop_escapes(loop: ast.For) -> bool:
    """Whether an iteration of `loop` can end before its body's last statement other than by raising."""
    return _escapes(loop.body, in_loop=True)


def guarded_asserts(tree: ast.Module) -> set[int]:
    """ids of the asserts inside `try` or `with` statements, whose raising a handler may rely on."""
    guards = (ast.Try, ast.TryStar, ast.With, ast.AsyncWith)
    return {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, guards)
        for node in ast.walk(guard)
        if isinstance(node, ast.Assert)
    }


def _escapes(nodes: list[ast.AST], in_loop: bool) -> bool:
    """Whether control can leave `nodes` before their end other than by raising: a `return` (or being a
    generator or coroutine) of this function, or, `in_loop`, a `break` or `continue` of this loop."""
    for node in nodes:
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            return True
        if in_loop and isinstance(node, (ast.Break, ast.Continue)):
            return True
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):  # its body's breaks are its own
            heads = [node.test] if isinstance(node, ast.While) else [node.target, node.iter]
            if _escapes(node.body, False) or _escapes(node.orelse + heads, in_loop):
                return True
        elif _escapes(list(ast.iter_child_nodes(node)), in_loop):
            return True
    return False
