"""The building blocks of synthetic problems: primitives over ints, lists and strings, and how a composition
of them renders as Python code and as words.

A primitive is a code template and a word template with at most one constant slot `{c}`. Code templates
name the element they act on `{v}` (an int or a word) or `{t}` (the running string of a string chain).
Compositions are rendered (see codepref.synth.problems) into a two- or three-line function body, one
primitive per clause, so a model that learned each primitive can compose them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Primitive:
    name: str
    code: str  # Python with {v}/{t} for the operand and {c} for the constant
    words: str  # English with {c} for the constant
    constants: tuple[object, ...] = ()  # the values {c} may take; empty: no constant

    def draw(self, rng: random.Random) -> object | None:
        return rng.choice(self.constants) if self.constants else None

    def render_code(self, operand: str, constant: object | None) -> str:
        return self.code.format(v=operand, t=operand, c=_literal(constant))

    def render_words(self, constant: object | None) -> str:
        return self.words.format(c=_literal(constant))


def _literal(constant: object | None) -> str:
    return repr(constant) if isinstance(constant, str) else str(constant)


def _table(*rows: tuple) -> dict[str, Primitive]:
    return {row[0]: Primitive(*row) for row in rows}


SMALL = tuple(range(2, 10))
THRESHOLDS = tuple(range(0, 10))
CHARS = tuple("aeinorst")

# Conditions on one integer `x`. "all" keeps every element (the identity of the filter slot).
INT_FILTERS = _table(
    ("all", "", ""),
    ("even", "{v} % 2 == 0", "that are even"),
    ("odd", "{v} % 2 == 1", "that are odd"),
    ("positive", "{v} > 0", "that are positive"),
    ("negative", "{v} < 0", "that are negative"),
    ("greater", "{v} > {c}", "that are greater than {c}", THRESHOLDS),
    ("less", "{v} < {c}", "that are less than {c}", THRESHOLDS),
    ("divisible", "{v} % {c} == 0", "that are divisible by {c}", (3, 4, 5, 6, 7)),
)
# Maps of one integer `x`; "same" leaves it as it is.
INT_MAPS = _table(
    ("same", "{v}", ""),
    ("times", "{v} * {c}", "multiply each by {c}", SMALL),
    ("plus", "{v} + {c}", "add {c} to each", tuple(range(1, 10))),
    ("minus", "{v} - {c}", "subtract {c} from each", tuple(range(1, 10))),
    ("square", "{v} * {v}", "square each", ()),
    ("negate", "-{v}", "negate each", ()),
    ("absolute", "abs({v})", "take the absolute value of each", ()),
    ("modulo", "{v} % {c}", "take each modulo {c}", SMALL),
)
# What a list of selected integers `ys` becomes. The flag says whether the map slot matters for it.
INT_OUTPUTS = _table(
    ("list", "ys", "return them as a list"),
    ("sum", "sum(ys)", "return their sum"),
    ("count", "len(ys)", "return how many there are"),
    ("largest", "max(ys, default=0)", "return the largest of them (0 if there is none)"),
    ("smallest", "min(ys, default=0)", "return the smallest of them (0 if there is none)"),
    ("first", "ys[0] if ys else -1", "return the first of them (-1 if there is none)"),
    ("last", "ys[-1] if ys else -1", "return the last of them (-1 if there is none)"),
    ("ascending", "sorted(ys)", "return them sorted in ascending order"),
    ("reversed", "ys[::-1]", "return them in reverse order"),
    ("descending", "sorted(ys, reverse=True)", "return them sorted in descending order"),
)
# Outputs whose value ignores the map (a count): composing them with a map would make an untestable slot.
MAP_BLIND_OUTPUTS = frozenset({"count"})

# Where the integers come from: (argument, iterable, words, the outputs that suit it). One source, the list
# argument. Two more (1..n and the digits of n) were dropped: with three sources the 2M coder solved none of
# validation's integer problems (README, "Does the loop align a model?").
INT_SOURCES = {"list": ("xs: list[int]", "xs", "the numbers in xs", tuple(INT_OUTPUTS))}

# Transformations of a string `t`, chained one per line.
STRING_TRANSFORMS = _table(
    ("upper", "{t}.upper()", "convert it to upper case"),
    ("lower", "{t}.lower()", "convert it to lower case"),
    ("swap", "{t}.swapcase()", "swap the case of every letter"),
    ("reverse", "{t}[::-1]", "reverse it"),
    ("nospaces", '{t}.replace(" ", "")', "remove the spaces"),
    ("replace", '{t}.replace({c}, "x")', 'replace every {c} with "x"', CHARS),
    ("head", "{t}[:{c}]", "keep its first {c} characters", SMALL),
    ("tail", "{t}[{c}:]", "drop its first {c} characters", (1, 2, 3, 4)),
    ("double", '"".join(ch * 2 for ch in {t})', "double every character"),
    ("novowels", '"".join(ch for ch in {t} if ch not in "aeiouAEIOU")', "remove the vowels"),
    ("everyother", "{t}[::2]", "keep every other character, starting with the first"),
    ("sort", '"".join(sorted({t}))', "sort its characters"),
)
STRING_OUTPUTS = _table(
    ("string", "t", "return the result"),
    ("length", "len(t)", "return its length"),
    ("occurrences", "t.count({c})", "return how many times {c} occurs in it", CHARS + ("x",)),
)

# Conditions on one word `w` of a sentence, and maps of it.
WORD_FILTERS = _table(
    ("all", "", ""),
    ("longer", "len({v}) > {c}", "that are longer than {c} characters", (1, 2, 3, 4, 5)),
    ("shorter", "len({v}) < {c}", "that are shorter than {c} characters", (2, 3, 4, 5, 6)),
    ("starts", "{v}.startswith({c})", "that start with {c}", CHARS),
    ("contains", "{c} in {v}", "that contain {c}", CHARS),
    ("lowercase", "{v}.islower()", "that are all lower case"),
    ("capitalized", "{v}[:1].isupper()", "that start with a capital letter"),
)
WORD_MAPS = _table(
    ("same", "{v}", ""),
    ("upper", "{v}.upper()", "convert each to upper case"),
    ("lower", "{v}.lower()", "convert each to lower case"),
    ("reverse", "{v}[::-1]", "reverse each"),
    ("capitalize", "{v}.capitalize()", "capitalize each"),
    ("initial", "{v}[0]", "keep the first letter of each"),
    ("trim", "{v}[:{c}]", "keep the first {c} letters of each", (2, 3, 4)),
)
WORD_OUTPUTS = _table(
    ("spaced", '" ".join(words)', "return them joined with single spaces"),
    ("dashed", '"-".join(words)', 'return them joined with "-"'),
    ("list", "words", "return them as a list"),
    ("count", "len(words)", "return how many there are"),
)
