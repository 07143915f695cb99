"""The synthetic problem generator: determinism, splits, hidden-test strength, and the canonical solutions
passing their hidden tests in the real sandbox through `codepref eval`."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from codepref.data import DataFileError, load_problems
from codepref.synth import SYNTH_BENCHMARKS, load_synth
from codepref.synth.compose import FAMILIES, compile_function, draw, keys_of, near_misses
from codepref.synth.primitives import (
    INT_FILTERS,
    INT_MAPS,
    STRING_TRANSFORMS,
    WORD_FILTERS,
    WORD_MAPS,
)
from codepref.synth.problems import (
    SYNTH_VERSION,
    generate_split,
    key_of_prompt,
    of_withheld_keys,
    split_keys,
    withheld_keys,
)
from codepref.tasks.prompts import codet_test_prompt, strip_docstring_examples

# The problems each SYNTH_VERSION generates (seed 0, all three splits). Coders are cached by the version, so a
# change to the generator must bump it and record the new digest here, or a stale coder would be reused.
PROBLEMS_DIGEST = {2: "d06d3a73bcb26854f85ab382a381d575662b2686d3bfdbaedafd7c421b6b4037"}


def test_the_generated_problems_are_the_ones_recorded_for_this_synth_version():
    digest = hashlib.sha256()
    for split in ("train", "validation", "heldout"):
        for p in generate_split(split):
            digest.update((p.prompt + p.solution + "".join(p.tests)).encode())
    assert digest.hexdigest() == PROBLEMS_DIGEST.get(SYNTH_VERSION), "bump SYNTH_VERSION, record its digest"


def test_the_same_seed_gives_the_same_problems_and_another_seed_other_ones():
    first = [(p.prompt, p.solution, p.tests) for p in generate_split.__wrapped__("validation", 0, 40)]
    again = [(p.prompt, p.solution, p.tests) for p in generate_split.__wrapped__("validation", 0, 40)]
    other = [(p.prompt, p.solution, p.tests) for p in generate_split.__wrapped__("validation", 1, 40)]
    assert first == again
    assert first != other


def test_a_smaller_size_gives_a_prefix_of_the_split():
    assert generate_split("train", 0, 30) == generate_split("train", 0, 60)[:30]


def test_heldout_compositions_are_absent_from_train_yet_every_primitive_is_trained():
    keys = split_keys()
    train, validation, heldout = set(keys["train"]), set(keys["validation"]), set(keys["heldout"])
    assert not train & heldout and not train & validation
    trained_problems = {p.composition.key for p in generate_split("train", 0, 2400)}
    assert trained_problems <= train
    assert not {p.composition.key for p in generate_split("heldout")} & trained_problems
    seen = {name for key in trained_problems for name in key[1:]}
    every = set(INT_FILTERS) | set(INT_MAPS) | set(STRING_TRANSFORMS) | set(WORD_FILTERS) | set(WORD_MAPS)
    assert every <= seen


def test_validation_draws_other_problems_than_heldout_from_the_same_unseen_compositions():
    validation, heldout = generate_split("validation"), generate_split("heldout")
    assert not {p.prompt for p in validation} & {p.prompt for p in heldout}
    assert {p.composition.key for p in validation} | {p.composition.key for p in heldout} <= set(
        split_keys()["heldout"]
    )
    assert generate_split("validation", 0, 50) == validation[:50]
    share = {
        name: sum(p.composition.family == "words" for p in ps) / len(ps)
        for name, ps in (("validation", validation), ("heldout", heldout))
    }
    assert abs(share["validation"] - share["heldout"]) < 0.1  # the same family mix, up to sampling noise


def test_loop_prompts_ask_for_the_unseen_compositions_yet_repeat_no_measured_function():
    measured = [p for split in ("validation", "heldout") for p in generate_split(split)]
    prompts = generate_split("prompts")
    assert len(prompts) == 8000 and len({p.prompt for p in prompts}) == len(prompts)
    assert {p.composition.key for p in prompts} <= set(split_keys()["heldout"])
    assert not {p.solution for p in prompts} & {p.solution for p in measured}  # constants included
    assert not {p.prompt for p in prompts} & {p.prompt for p in measured}
    families = {p.composition.family for p in prompts}
    assert families == {"list", "string", "words"}


def test_withheld_keys_take_the_same_share_of_every_group_of_unseen_compositions_and_only_those():
    unseen = split_keys()["heldout"]
    half = withheld_keys(0.5)
    assert half <= set(unseen) and half == withheld_keys(0.5) and half != withheld_keys(0.5, seed=1)
    for group in {k[0] for k in unseen}:
        of_group = [k for k in unseen if k[0] == group]
        assert abs(sum(k in half for k in of_group) - len(of_group) / 2) <= 0.5
    assert not withheld_keys(0.0) and withheld_keys(1.0) == set(unseen)
    with pytest.raises(ValueError, match="withheld share"):
        withheld_keys(1.5)
    keys = key_of_prompt("heldout")
    both_parts = {keys[p.prompt] in half for p in generate_split("heldout")}
    assert both_parts == {True, False}  # held-out has problems of withheld and of shown compositions


def test_of_withheld_keys_picks_exactly_the_problems_of_withheld_compositions():
    prompts = load_problems("synth-prompts")[:400]
    key_of = key_of_prompt("prompts")
    withheld = of_withheld_keys(prompts, "synth-prompts", 0.5)
    assert withheld == {p.task_id for p in prompts if key_of[p.prompt] in withheld_keys(0.5)}
    assert 0 < len(withheld) < len(prompts)
    assert of_withheld_keys(prompts, "synth-prompts", 0.0) == set()


def test_splits_have_the_promised_sizes_and_thirty_templates_or_more():
    assert len(load_synth("synth-heldout")) >= 200
    assert len(load_synth("synth-validation")) == 200
    templates = {p.composition.template for p in generate_split("train", 0, 2400)}
    assert len(templates) >= 30


def test_problems_have_a_docstring_with_examples_and_at_least_five_distinct_asserts():
    for problem in load_synth("synth-heldout"):
        assert problem.prompt.count(">>> ") in (1, 2)
        assert len(set(problem.test_list)) >= 5
        assert all(t.startswith(f"assert {problem.entry_point}(") for t in problem.test_list)


def test_hidden_tests_fail_every_near_miss_a_constant_and_the_identity():
    for problem in generate_split("heldout")[:80]:
        comp = problem.composition
        cases = problem.inputs
        expected = [compile_function(comp)(x) for x in cases]
        assert len({repr(y) for y in expected}) >= 2  # no constant passes
        assert any(x != y for x, y in zip(cases, expected, strict=True))  # the identity does not pass
        for miss in near_misses(comp):
            function = compile_function(miss)

            def differs(x, y, function=function):
                try:
                    return function(x) != y
                except Exception:
                    return True

            assert any(differs(x, y) for x, y in zip(cases, expected, strict=True)), (problem.prompt, miss)


def test_every_family_has_compositions_and_a_count_never_follows_a_map():
    assert all(keys_of(family) for family in FAMILIES)
    for seed in range(50):
        comp = draw("list", ("int", "even", "times"), random.Random(seed))
        assert comp.output.name != "count"


def test_test_prompts_lose_the_docstring_examples():
    problem = load_synth("synth-heldout")[0]
    stripped = strip_docstring_examples(problem.prompt, problem.entry_point)
    assert ">>>" not in stripped and "Take " in stripped
    assert codet_test_prompt(problem.prompt, problem.entry_point).text.endswith("assert ")


def test_synth_benchmarks_load_through_the_data_registry():
    for benchmark in SYNTH_BENCHMARKS:
        problems = load_problems(benchmark)
        assert problems[0].benchmark == benchmark and problems[0].task_id == f"{benchmark}/0"
    with pytest.raises(DataFileError, match="synth-nope"):
        load_problems("synth-nope")


def test_every_canonical_solution_passes_its_hidden_tests_in_the_sandbox(tmp_path):
    from typer.testing import CliRunner

    from codepref.cli import app

    for benchmark in SYNTH_BENCHMARKS:
        samples = tmp_path / f"{benchmark}.jsonl"
        problems = load_synth(benchmark)
        if benchmark in ("synth-train", "synth-prompts"):  # 300 and 200 of them keep the test fast
            problems = problems[:: 8 if benchmark == "synth-train" else 40]
        rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems]
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        result = CliRunner().invoke(
            app, ["eval", benchmark, str(samples), "-k", "1", "--json", "--workers", "2"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["scores"]["pass@1"] == 1.0
        assert report["problems_evaluated"] == len(rows) and report["samples"] == len(rows)
