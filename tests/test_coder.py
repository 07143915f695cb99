"""The coder model build: SFT rows in the loop's prompt formats, and a fast real build (tokenizer, TRL
SFTTrainer, save) whose model loads and samples through the project's HF generator."""

from __future__ import annotations

import json
from dataclasses import replace

from codepref.coder import TEST_RECIPE, cached_coder
from codepref.coder.build import sft_rows
from codepref.synth import load_synth
from codepref.tasks.prompts import TEST_STOPS, codet_test_prompt, solution_prompt


def test_sft_rows_teach_the_loops_solution_and_test_prompts():
    rows = sft_rows(replace(TEST_RECIPE, sft_problems=3))
    problem = load_synth("synth-train")[0]
    solution, test = rows[0], rows[1]
    assert solution["prompt"] == solution_prompt(problem.prompt, problem.entry_point).text
    assert solution["completion"] == problem.canonical_solution
    assert test["prompt"] == codet_test_prompt(problem.prompt, problem.entry_point).text
    lines = ("assert " + test["completion"]).splitlines()
    assert lines == list(problem.test_list[: TEST_RECIPE.tests_per_example])
    assert not any(stop in test["completion"] for stop in TEST_STOPS)  # the whole block survives the stops


def test_a_recipes_cache_key_changes_with_the_generators_version(monkeypatch):
    import codepref.coder.recipe as recipe

    before = TEST_RECIPE.key()
    monkeypatch.setattr(recipe, "SYNTH_VERSION", recipe.SYNTH_VERSION + 1)
    assert TEST_RECIPE.key() != before


def test_sft_rows_come_only_from_the_first_problems_of_train():
    rows = sft_rows(replace(TEST_RECIPE, sft_problems=5))
    later = {p.prompt for p in load_synth("synth-train")[5:]}
    assert len(rows) == 10 and not {r["prompt"] for r in rows[::2]} & later


def test_a_small_build_trains_saves_and_samples_through_the_hf_generator(tmp_path):
    from codepref.generate import GenerationRequest
    from codepref.generate.hf import HFGenerator

    model_dir = cached_coder(TEST_RECIPE, tmp_path)
    assert cached_coder(TEST_RECIPE, tmp_path) == model_dir  # cached: the second call builds nothing
    record = json.loads((model_dir / "coder_recipe.json").read_text())
    assert record["key"] == TEST_RECIPE.key() and record["train_loss"] > 0 and record["log"]
    assert record["parameters"] < 100_000
    generator = HFGenerator(str(model_dir), batch_size=4)
    problem = load_synth("synth-heldout")[0]
    request = GenerationRequest(
        prompts=(problem.prompt,), n=2, temperature=0.8, top_p=0.95, max_tokens=8, seed=0
    )
    completions = generator.generate(request)[0]
    assert len(completions) == 2 and all(isinstance(c.text, str) for c in completions)


def test_any_change_to_the_recipe_changes_its_cache_key():
    assert TEST_RECIPE.key() == replace(TEST_RECIPE).key()
    assert TEST_RECIPE.key() != replace(TEST_RECIPE, seed=1).key()
    assert TEST_RECIPE.key() != replace(TEST_RECIPE, learning_rate=1e-3).key()


def test_one_loop_round_runs_on_the_small_coder_with_synth_prompts_and_held_out_evaluation(tmp_path):
    from codepref.loop import Loop
    from codepref.loop.config import EvalSettings, GenerationSettings, LoopConfig, ProblemSet
    from codepref.loop.report import iter_stage_files
    from codepref.pairs.config import PairConfig
    from codepref.train.config import TrainConfig

    model_dir = cached_coder(TEST_RECIPE, tmp_path / "models")
    cfg = LoopConfig(
        name="synth-round",
        model=str(model_dir),
        rounds=1,
        runs_dir=str(tmp_path / "runs"),
        train_problems=ProblemSet("synth-train", offset=TEST_RECIPE.sft_problems, limit=2),
        generation=GenerationSettings(
            backend="hf", style="completion", solutions=4, tests=2, max_tokens=8, test_max_tokens=16
        ),
        pairs=PairConfig(method="codedpo"),
        train=TrainConfig(learning_rate=1e-3, max_steps=2, batch_size=2),
        eval=EvalSettings(sets=[ProblemSet("synth-heldout", limit=2)], max_tokens=8),
    )
    result = Loop(cfg).run()
    stages = [json.loads(p.read_text())["stage"] for p in iter_stage_files(result.run_dir)]
    assert stages == ["evaluate", "generate", "matrix", "rank", "pairs", "train", "evaluate"]
    assert [r.scores["synth-heldout"]["problems"] for r in result.rounds] == [2, 2]
