"""Constant expressions folded on the host: `2**1000 % (10**9 + 7)`, `[0] * 5`, `float('-inf')`, `list(range(5))`.

A split check's expected side that is not a literal but uses no name other than a few pure builtins is
computed here, so that it need not travel to the job. This is a small evaluator over whitelisted AST nodes
and calls, never `eval`: exponents, repetitions and results are capped, so a test cannot make the host
build a huge value, and anything outside the whitelist is not folded (the job computes it, as it would
have). Names may be bound by the caller (`names`): the values a literal loop gives its target.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Hashable, Mapping
from typing import Any

MAX_INT_BITS = 1 << 16  # about 19,700 decimal digits
MAX_ITEMS = 10_000  # elements of a built container (nested ones count too), characters of a built string

PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
PLAIN_CONTAINERS = (tuple, list, set, frozenset, dict)


class NotConstant(Exception):
    """The expression is not one this module folds."""


def fold(node: ast.AST, names: Mapping[str, Any] | None = None) -> Any:
    """The value of a constant expression, as plain data; NotConstant for anything else (never another error)."""
    try:
        value = _fold(node, names or {})
        _check_plain(value)
        return value
    except NotConstant:
        raise
    except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, RecursionError, MemoryError):
        raise NotConstant from None  # what Python would raise at run time: the job meets it there instead


def is_constant(node: ast.AST, names: Mapping[str, Any] | None = None) -> bool:
    try:
        fold(node, names)
        return True
    except NotConstant:
        return False


def _fold(node: ast.AST, names: Mapping[str, Any]) -> Any:
    kind = type(node)
    if kind is ast.Constant:
        if type(node.value) not in PLAIN_SCALARS:  # Ellipsis
            raise NotConstant
        return node.value
    if kind is ast.Name:
        if node.id in names:
            return names[node.id]
        raise NotConstant
    if kind in (ast.Tuple, ast.List, ast.Set):
        items = [_fold(element, names) for element in node.elts]
        return _sized({ast.Tuple: tuple, ast.List: list, ast.Set: set}[kind](items))
    if kind is ast.Dict:
        if any(key is None for key in node.keys):  # `**mapping`
            raise NotConstant
        return _sized({_fold(k, names): _fold(v, names) for k, v in zip(node.keys, node.values, strict=True)})
    if kind is ast.UnaryOp and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_fold(node.operand, names))
    if kind is ast.BinOp and type(node.op) in _BINARY:
        left, right = _fold(node.left, names), _fold(node.right, names)
        _check_binary(node.op, left, right)
        return _sized(_BINARY[type(node.op)](left, right))
    if kind is ast.Subscript:
        return _sized(_fold(node.value, names)[_fold(node.slice, names)])
    if kind is ast.Slice:
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if part is None else _fold(part, names) for part in parts))
    if kind is ast.Call:
        return _sized(_call(node, names))
    raise NotConstant


def _call(node: ast.Call, names: Mapping[str, Any]) -> Any:
    function = node.func
    if type(function) is not ast.Name or function.id in names or function.id not in SAFE_CALLS:
        raise NotConstant
    if any(type(argument) is ast.Starred for argument in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        raise NotConstant
    arguments = [_fold(argument, names) for argument in node.args]
    keywords = {k.arg: _fold(k.value, names) for k in node.keywords}
    return SAFE_CALLS[function.id](*arguments, **keywords)


def _range(*arguments: Any) -> range:
    built = range(*arguments)
    if len(built) > MAX_ITEMS:
        raise NotConstant
    return built


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if type(exponent) is int and type(base) is int:
        if modulus is None and exponent > 0 and base.bit_length() * exponent > MAX_INT_BITS:
            raise NotConstant
        if modulus is not None and exponent.bit_length() > MAX_INT_BITS:
            raise NotConstant
    return pow(base, exponent) if modulus is None else pow(base, exponent, modulus)


# Pure builtins whose results depend on their arguments alone; those that can build big values are capped.
SAFE_CALLS: dict[str, Callable[..., Any]] = {
    "abs": abs, "bool": bool, "chr": chr, "complex": complex, "dict": dict, "divmod": divmod,
    "float": float, "frozenset": frozenset, "int": int, "len": len, "list": list, "max": max, "min": min,
    "ord": ord, "pow": _pow, "range": _range, "reversed": reversed, "round": round, "set": set,
    "sorted": sorted, "str": str, "sum": sum, "tuple": tuple,
}  # fmt: skip

_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert,
}  # fmt: skip

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _pow, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}  # fmt: skip


def _check_binary(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse the operations whose result could be far bigger than their operands, before making it."""
    if type(op) is ast.Mult:
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, bytes, list, tuple)) and type(count) in (int, bool):
                if len(sequence) * count > MAX_ITEMS:
                    raise NotConstant
        if type(left) is int and type(right) is int and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise NotConstant
    if type(op) is ast.LShift and type(right) is int and right > MAX_INT_BITS:
        raise NotConstant
    if type(op) is ast.Mod and isinstance(left, (str, bytes)):  # %-formatting can pad to any width
        raise NotConstant


def _sized(value: Any) -> Any:
    """value, unless it holds more than MAX_ITEMS items or characters; counting stops past the cap, so a list
    that repeats one big list many times is refused without walking it all."""
    budget = MAX_ITEMS
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is int and item.bit_length() > MAX_INT_BITS:
            raise NotConstant
        if kind in (str, bytes):
            budget -= len(item)
        elif kind is dict:
            budget -= 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif kind in (tuple, list, set, frozenset):
            budget -= 1
            pending.extend(item)
        else:
            budget -= 1
        if budget < 0 or len(pending) > MAX_ITEMS:
            raise NotConstant
    return value


def _check_plain(value: Any) -> None:
    """Only plain data is a folded value: a range or an iterator is a step on the way, never the result."""
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return
    if kind is dict:
        for key, item in value.items():
            _check_plain(key)
            _check_plain(item)
        return
    if kind not in PLAIN_CONTAINERS:
        raise NotConstant
    for item in value:
        _check_plain(item)


def value_key(value: Any) -> Hashable:
    """A key equal for values Python's `==` finds equal (2, 2.0 and True-ish numbers alike; sets and dicts
    in any order), to tell whether a constant in a job's text repeats a value the host keeps."""
    kind = type(value)
    if kind in (bool, int):
        return ("n", int(value))
    if kind is float:
        return ("n", int(value)) if value.is_integer() else ("n", repr(value))
    if kind is complex:
        return value_key(value.real) if value.imag == 0 else ("n", repr(value))
    if kind in (tuple, list):
        return (kind.__name__, tuple(value_key(item) for item in value))
    if kind in (set, frozenset):
        return ("set", tuple(sorted((value_key(item) for item in value), key=repr)))
    if kind is dict:
        pairs = ((value_key(k), value_key(v)) for k, v in value.items())
        return ("dict", tuple(sorted(pairs, key=repr)))
    return (kind.__name__, value)
