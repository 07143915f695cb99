"""Compositions of primitives: drawing one at random, rendering it as a HumanEval-style function (signature,
docstring in words, body), and the near-miss variants that its hidden tests must tell apart from it.

Three families, one body shape each:

    list of ints                             string chain                 words
    ys = [MAP for x in SOURCE if FILTER]     t = TRANSFORM(s)             words = [MAP for w in s.split() if FILTER]
    return OUTPUT(ys)                        t = TRANSFORM(t)             return OUTPUT(words)
                                             return OUTPUT(t)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from codepref.synth.primitives import (
    INT_FILTERS,
    INT_MAPS,
    INT_OUTPUTS,
    INT_SOURCES,
    MAP_BLIND_OUTPUTS,
    STRING_OUTPUTS,
    STRING_TRANSFORMS,
    WORD_FILTERS,
    WORD_MAPS,
    WORD_OUTPUTS,
    Primitive,
)

INT_FAMILIES = tuple(INT_SOURCES)
FAMILIES = (*INT_FAMILIES, "string", "words")
IDENTITY_STEPS = {"all", "same"}  # a filter that keeps everything, a map that changes nothing
ENTRY_NAMES = {
    "list": "select_numbers",
    "string": "transform_text",
    "words": "pick_words",
}


@dataclass(frozen=True)
class Step:
    slot: str  # filter, map, transform, output
    name: str
    constant: Any = None


@dataclass(frozen=True)
class Composition:
    family: str
    steps: tuple[Step, ...]  # int and word families: filter, map, output; strings: transforms..., output

    @property
    def output(self) -> Step:
        return self.steps[-1]

    @property
    def key(self) -> tuple[str, ...]:
        """What the split is decided on: the primitives composed, without output and constants. Integer
        keys are grouped as "int" rather than by source, so a (filter, map) pair held out is held out from
        every integer source (one today; the group's name also keeps the seeded split of keys unchanged)."""
        group = "int" if self.family in INT_FAMILIES else self.family
        return (group, *(s.name for s in self.steps[:-1]))

    @property
    def template(self) -> str:
        """The skeleton with the primitives left open: family, which slots act (a filter, a map, both, or
        the number of chained transforms) and the output."""
        acting = [s.slot for s in self.steps[:-1] if s.name not in IDENTITY_STEPS]
        shape = str(len(acting)) if self.family == "string" else "+".join(acting) or "copy"
        return f"{self.family}/{shape}/{self.output.name}"


def primitive_of(family: str, step: Step) -> Primitive:
    tables: dict[str, dict[str, Primitive]]
    if family in INT_FAMILIES:
        tables = {"filter": INT_FILTERS, "map": INT_MAPS, "output": INT_OUTPUTS}
    elif family == "words":
        tables = {"filter": WORD_FILTERS, "map": WORD_MAPS, "output": WORD_OUTPUTS}
    else:
        tables = {"transform": STRING_TRANSFORMS, "output": STRING_OUTPUTS}
    return tables[step.slot][step.name]


def keys_of(family: str) -> list[tuple[str, ...]]:
    """Every composition key of a family (string chains of one or two transforms)."""
    if family in INT_FAMILIES:
        return [("int", f, m) for f in INT_FILTERS for m in INT_MAPS]
    if family == "words":
        return [("words", f, m) for f in WORD_FILTERS for m in WORD_MAPS]
    names = list(STRING_TRANSFORMS)
    return [("string", a) for a in names] + [("string", a, b) for a in names for b in names if a != b]


def draw(family: str, key: tuple[str, ...], rng: random.Random) -> Composition:
    """A composition with this key and a random output and constants (never a count after a map, which
    would leave the map untestable)."""
    names = key[1:]
    if family in INT_FAMILIES or family == "words":
        filter_name, map_name = names
        outputs = INT_SOURCES[family][3] if family in INT_FAMILIES else tuple(WORD_OUTPUTS)
        if map_name != "same":
            outputs = tuple(o for o in outputs if o not in MAP_BLIND_OUTPUTS)
        slots = [("filter", filter_name), ("map", map_name), ("output", rng.choice(outputs))]
    else:
        slots = [("transform", n) for n in names] + [("output", rng.choice(tuple(STRING_OUTPUTS)))]
    steps = []
    for slot, name in slots:
        primitive = primitive_of(family, Step(slot, name))
        steps.append(Step(slot, name, primitive.draw(rng)))
    return Composition(family, tuple(steps))


# --- rendering -----------------------------------------------------------------------------------------


def signature(comp: Composition) -> tuple[str, str]:
    """(argument list, return annotation)."""
    if comp.family in INT_FAMILIES:
        returns = (
            "list[int]" if comp.output.name in ("list", "ascending", "reversed", "descending") else "int"
        )
        return INT_SOURCES[comp.family][0], returns
    returns = {"string": "str", "length": "int", "occurrences": "int", "list": "list[str]", "count": "int"}
    return "s: str", returns.get(comp.output.name, "str")


def body(comp: Composition) -> str:
    """The function body (4-space indented lines, ending with a newline)."""
    render = {s.slot: primitive_of(comp.family, s).render_code for s in comp.steps}
    consts = {s.slot: s.constant for s in comp.steps}
    if comp.family == "string":
        lines, current = [], "s"
        for step in comp.steps[:-1]:
            lines.append(f"t = {primitive_of(comp.family, step).render_code(current, step.constant)}")
            current = "t"
        lines.append(f"return {render['output']('t', consts['output'])}")
        return "".join(f"    {line}\n" for line in lines)
    var, name, source = (
        ("x", "ys", INT_SOURCES[comp.family][1])
        if comp.family in INT_FAMILIES
        else (
            "w",
            "words",
            "s.split()",
        )
    )
    mapped = render["map"](var, consts["map"])
    condition = render["filter"](var, consts["filter"])
    clause = f" if {condition}" if condition else ""
    output = render["output"](var, consts["output"])
    return f"    {name} = [{mapped} for {var} in {source}{clause}]\n    return {output}\n"


def description(comp: Composition) -> str:
    """The task in words: 'Take <source> <filter>, <map>, and <output>.'"""
    words = [primitive_of(comp.family, s).render_words(s.constant) for s in comp.steps]
    if comp.family == "string":
        subject, actions = "the string s", words
    else:
        source = INT_SOURCES[comp.family][2] if comp.family in INT_FAMILIES else "the words of s"
        subject = f"{source} {words[0]}".strip()
        actions = [w for w in words[1:] if w]
    if len(actions) == 1:
        return f"Take {subject} and {actions[0]}."
    return f"Take {subject}, " + ", ".join(actions[:-1]) + f", and {actions[-1]}."


def source_code(comp: Composition, name: str) -> str:
    args, returns = signature(comp)
    return f"def {name}({args}) -> {returns}:\n{body(comp)}"


def compile_function(comp: Composition) -> Callable[..., Any]:
    """The composition as a callable, by executing its own rendered code (so tests and code always agree)."""
    namespace: dict[str, Any] = {}
    exec(compile(source_code(comp, "f"), "<synth>", "exec"), namespace)  # our own generated code
    return namespace["f"]


# --- near misses ---------------------------------------------------------------------------------------


def near_misses(comp: Composition) -> list[Composition]:
    """Compositions a model plausibly writes instead: one step dropped (filter kept all, map left out,
    transform skipped) or one constant off. Hidden tests must fail every one of them."""
    variants = []
    for i, step in enumerate(comp.steps):
        if step.slot in ("filter", "map") and step.name not in IDENTITY_STEPS:
            identity = "all" if step.slot == "filter" else "same"
            variants.append(_with_step(comp, i, Step(step.slot, identity)))
        if step.slot == "transform" and len(comp.steps) > 2:
            variants.append(Composition(comp.family, comp.steps[:i] + comp.steps[i + 1 :]))
        constants = primitive_of(comp.family, step).constants
        if step.constant is not None:
            position = constants.index(step.constant)
            for j in (position - 1, position + 1):
                if 0 <= j < len(constants):
                    variants.append(_with_step(comp, i, replace(step, constant=constants[j])))
    return variants


def _with_step(comp: Composition, index: int, step: Step) -> Composition:
    return Composition(comp.family, comp.steps[:index] + (step,) + comp.steps[index + 1 :])
