"""Synthetic function-synthesis problems as `Problem` records, in three splits with disjoint compositions.

`train` holds the loop's prompts (and the base model's training data), `validation` is for choosing
thresholds and learning rates, `heldout` only for measuring. `prompts` holds unlabeled loop prompts of the
unseen compositions (the target distribution, as CodeDPO trains on prompts near its benchmarks), none of
which repeats a validation or heldout problem's function. Every primitive appears in `train` (alone, and
in other compositions); the compositions of two non-trivial primitives are divided by a seeded shuffle of
their keys into trained ones and unseen ones, so `validation` and `heldout` ask for compositions never seen
in training. Both draw their (distinct) problems from the same unseen keys: with only a few dozen unseen
keys, giving each split keys of its own made their difficulty differ by chance (greedy pass@1 24.5% on
validation against 1.0% on heldout), and a validation split that does not predict heldout cannot be used
to choose anything.

Hidden tests (6 asserts, edge cases included) are chosen so that every near miss of the canonical solution
(a step dropped, a constant off by one) fails one of them, no constant return value passes them, and neither
does returning the argument unchanged.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from codepref.synth.compose import (
    ENTRY_NAMES,
    FAMILIES,
    IDENTITY_STEPS,
    INT_FAMILIES,
    Composition,
    body,
    compile_function,
    description,
    draw,
    keys_of,
    near_misses,
    signature,
)
from codepref.tasks.problem import Problem

SPLITS = ("train", "validation", "heldout", "prompts")
# Changes whenever the same seed would generate different problems; coder recipes hash it, so a coder trained
# on problems that no longer exist is rebuilt.
SYNTH_VERSION = 2
SPLIT_SIZES = {"train": 2400, "validation": 200, "heldout": 300, "prompts": 8000}
# Share of the non-trivial composition keys (two real primitives) that train sees; validation and heldout
# share the rest.
TRAIN_KEY_SHARE = 0.6
# Of the problems drawn from the unseen keys, validation takes positions 0 and 2 of every 5, heldout the
# other three (200:300).
VALIDATION_POSITIONS = (0, 2)
DEFAULT_SEED = 0
TESTS_PER_PROBLEM = 6
CANDIDATE_INPUTS = 40
WORDS = (
    "apple", "tree", "Sun", "river", "stone", "night", "a", "in", "Tea", "orange", "sea", "star", "ant",
    "eat", "is", "on", "rain", "Rose", "note", "sister", "Oak", "bird", "cat", "dog", "ice", "team",
    "north", "East", "tin", "rest",
)  # fmt: skip


@dataclass(frozen=True)
class SynthProblem:
    """A generated problem before it becomes a `Problem`: the composition and its chosen test inputs."""

    composition: Composition
    entry_point: str
    prompt: str
    solution: str
    tests: tuple[str, ...]
    inputs: tuple[Any, ...]  # the argument of each hidden test, in order


# --- inputs --------------------------------------------------------------------------------------------


def random_input(family: str, rng: random.Random) -> Any:
    if family == "list":
        return [rng.randint(-9, 20) for _ in range(rng.randint(1, 7))]
    sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    return sentence


def edge_inputs(family: str) -> list[Any]:
    """Empty and one-element inputs: every problem's tests start from these."""
    return {
        "list": [[], [0], [7], [-3]],
        "string": ["", "a"],
        "words": ["", "Sun"],
    }[family]


def _outcome(function: Callable[..., Any], argument: Any) -> Any:
    try:
        return ("ok", function(argument))
    except Exception as err:  # a near miss that raises is told apart just like one that returns wrongly
        return ("raised", type(err).__name__)


def choose_tests(comp: Composition, rng: random.Random) -> list[tuple[Any, Any]] | None:
    """(input, expected) pairs that fail every near miss, a constant answer and the identity; None if no
    set of candidate inputs can (the composition is degenerate: it equals one of its near misses)."""
    canonical = compile_function(comp)
    edges = edge_inputs(comp.family)
    pool = edges + [random_input(comp.family, rng) for _ in range(CANDIDATE_INPUTS)]
    pool = [x for i, x in enumerate(pool) if x not in pool[:i]]
    expected = {repr(x): canonical(x) for x in pool}
    misses = [compile_function(v) for v in near_misses(comp)]
    misses.append(lambda x: x)  # returning the argument unchanged
    killers = [{repr(x) for x in pool if _outcome(m, x) != ("ok", expected[repr(x)])} for m in misses]
    if any(not k for k in killers):
        return None
    chosen = [rng.choice(edges)]
    for kill in killers:
        if not kill & {repr(x) for x in chosen}:
            pick = rng.choice(sorted(kill))
            chosen.append(next(x for x in pool if repr(x) == pick))
    rest = [x for x in pool[len(edges) :] if x not in chosen]
    rng.shuffle(rest)
    while len(chosen) < TESTS_PER_PROBLEM and rest:  # prefer answers not yet seen: no cheap majority answer
        seen = [repr(expected[repr(x)]) for x in chosen]
        rest.sort(key=lambda x: seen.count(repr(expected[repr(x)])))
        chosen.append(rest.pop(0))
    if len({repr(expected[repr(x)]) for x in chosen}) < 2:  # a constant would pass: add a differing input
        first = repr(expected[repr(chosen[0])])
        chosen += [x for x in pool if repr(expected[repr(x)]) != first][:1]
        if len({repr(expected[repr(x)]) for x in chosen}) < 2:
            return None
    return [(x, expected[repr(x)]) for x in chosen]


# --- problems ------------------------------------------------------------------------------------------


def make_problem(comp: Composition, rng: random.Random) -> SynthProblem | None:
    cases = choose_tests(comp, rng)
    if cases is None:
        return None
    name = ENTRY_NAMES[comp.family]
    function = compile_function(comp)
    examples = list(dict.fromkeys(repr(random_input(comp.family, rng)) for _ in range(rng.choice((1, 2)))))
    shown = "".join(f"    >>> {name}({x})\n    {function(ast.literal_eval(x))!r}\n" for x in examples)
    args, returns = signature(comp)
    prompt = f'def {name}({args}) -> {returns}:\n    """{description(comp)}\n{shown}    """\n'
    tests = tuple(f"assert {name}({x!r}) == {y!r}" for x, y in cases)
    return SynthProblem(comp, name, prompt, body(comp), tests, tuple(x for x, _ in cases))


def split_keys(seed: int = DEFAULT_SEED) -> dict[str, list[tuple[str, ...]]]:
    """Composition keys per split. Keys with at most one non-trivial primitive all go to train;
    validation and heldout hold the same (unseen) keys."""
    keys = sorted({key for family in FAMILIES for key in keys_of(family)})
    trivial = [k for k in keys if sum(name not in IDENTITY_STEPS for name in k[1:]) <= 1]
    mixed = [k for k in keys if k not in trivial]
    random.Random(f"synth-keys:{seed}").shuffle(mixed)
    n_train = round(TRAIN_KEY_SHARE * len(mixed))
    unseen = mixed[n_train:]
    return {"train": trivial + mixed[:n_train], "validation": unseen, "heldout": unseen, "prompts": unseen}


def _families_for(key: tuple[str, ...]) -> tuple[str, ...]:
    return INT_FAMILIES if key[0] == "int" else (key[0],)


def _draw_problems(
    split: str,
    keys: list[tuple[str, ...]],
    rng: random.Random,
    keep: Callable[[int], bool],
    wanted: int,
    banned: frozenset[str] = frozenset(),
) -> list[SynthProblem]:
    """Distinct problems from `keys`, in the order drawn; of the i-th problem drawn only those with
    `keep(i)` are returned, until `wanted` are. A problem whose solution is in `banned` is skipped."""
    problems: list[SynthProblem] = []
    seen: set[str] = set()
    attempts = 0
    groups = sorted({k[0] for k in keys})
    while len(problems) < wanted:
        attempts += 1
        if attempts > 100 * wanted:
            raise RuntimeError(f"synth {split}: only {len(problems)} of {wanted} distinct problems found")
        group = rng.choice(groups)  # int, string, words: equally often
        key = rng.choice([k for k in keys if k[0] == group])
        problem = make_problem(draw(rng.choice(_families_for(key)), key, rng), rng)
        if problem is None or problem.prompt in seen or problem.solution in banned:
            continue
        if keep(len(seen)):
            problems.append(problem)
        seen.add(problem.prompt)
    return problems


@lru_cache(maxsize=8)
def generate_split(split: str, seed: int = DEFAULT_SEED, size: int | None = None) -> tuple[SynthProblem, ...]:
    """The split's problems, the same for the same (split, seed, size); prompts are distinct, also
    between validation and heldout (one stream of unseen-key problems, dealt between the two)."""
    if split not in SPLITS:
        raise ValueError(f"unknown synth split '{split}' (choose from {', '.join(SPLITS)})")
    keys = split_keys(seed)[split]
    wanted = SPLIT_SIZES[split] if size is None else size
    if split == "train":
        rng = random.Random(f"synth-problems:{seed}:train")
        return tuple(_draw_problems(split, keys, rng, lambda i: True, wanted))

    def dealt_to_this_split(position: int) -> bool:
        return (position % 5 in VALIDATION_POSITIONS) == (split == "validation")

    if split == "prompts":  # a stream of its own: validation and heldout stay as they were
        rng = random.Random(f"synth-problems:{seed}:prompts")
        return tuple(_draw_problems(split, keys, rng, lambda i: True, wanted, measured(seed)))
    rng = random.Random(f"synth-problems:{seed}:unseen")
    return tuple(_draw_problems(split, keys, rng, dealt_to_this_split, wanted))


def withheld_keys(share: float, seed: int = DEFAULT_SEED) -> frozenset[tuple[str, ...]]:
    """A seeded `share` of the unseen composition keys, the same share of each group (int, string, words):
    a loop that leaves out its prompts of these keys is then measured on two parts of heldout, compositions
    its prompts showed and compositions that neither the coder's training nor the loop's prompts showed."""
    if not 0 <= share <= 1:
        raise ValueError(f"withheld share: must be in [0, 1], got {share}")
    unseen = split_keys(seed)["heldout"]
    chosen: set[tuple[str, ...]] = set()
    for group in sorted({k[0] for k in unseen}):
        keys = sorted(k for k in unseen if k[0] == group)
        random.Random(f"synth-withheld:{seed}:{group}").shuffle(keys)
        chosen.update(keys[: round(share * len(keys))])
    return frozenset(chosen)


def key_of_prompt(split: str, seed: int = DEFAULT_SEED) -> dict[str, tuple[str, ...]]:
    """Prompt text -> composition key of each problem of the split (a `Problem` keeps no composition)."""
    return {p.prompt: p.composition.key for p in generate_split(split, seed)}


def of_withheld_keys(problems: Iterable[Problem], benchmark: str, share: float) -> set[str]:
    """Task ids of those `problems` (of `synth-<split>`, the default seed) whose composition key is among
    `withheld_keys(share)`; none for share 0."""
    if not share:
        return set()
    keys, withheld = key_of_prompt(benchmark.removeprefix("synth-")), withheld_keys(share)
    return {p.task_id for p in problems if keys[p.prompt] in withheld}


def measured(seed: int = DEFAULT_SEED) -> frozenset[str]:
    """The canonical solutions (constants included) of validation and heldout at their registered sizes:
    a loop prompt with one of them would train on a problem it is measured on (prompts differ in their
    examples only). Of the problems drawn from the unseen compositions about 2 in 5 are such repeats."""
    return frozenset(p.solution for s in ("validation", "heldout") for p in generate_split(s, seed))


def to_problem(problem: SynthProblem, benchmark: str, index: int) -> Problem:
    return Problem(
        task_id=f"{benchmark}/{index}",
        benchmark=benchmark,
        prompt=problem.prompt,
        entry_point=problem.entry_point,
        canonical_solution=problem.solution,
        test_list=problem.tests,
        completion_extends_prompt=True,
        description=description(problem.composition),
        source=f"codepref.synth ({problem.composition.template})",
    )
