"""benchmarks/_expert_iteration_sampling.py: the loop's pools drawn with HF or vLLM's CPU build, and samples
judged in the sandbox by the hidden tests or the prompt's own examples."""

import argparse

import pytest
import vllm  # noqa: F401  - a missing vLLM fails this file instead of skipping it

from codepref.data import load_problems
from codepref.generate import engines


@pytest.fixture(scope="module")
def sampling(benchmark_script):
    return benchmark_script("_expert_iteration_sampling")


def test_the_examples_source_judges_samples_by_the_prompts_own_examples_in_the_sandbox(sampling, tmp_path):
    problem = load_problems("synth-prompts")[1]
    # Prompt 1's two examples return -3 and -12: this answers them by rote and fails every hidden test.
    wrong_on_hidden_only = "    return -3 if xs[0] == -1 else -12\n"
    completions = {problem.task_id: [problem.canonical_solution, "    return 0\n", wrong_on_hidden_only]}
    shown = sampling.example_verdicts([problem], completions, tmp_path / "examples.jsonl", 2, "synth-prompts")
    hidden = sampling.judge("synth-prompts", [problem], completions, tmp_path / "hidden.jsonl", 2)
    assert shown[problem.task_id] == {c: c != "    return 0\n" for c in completions[problem.task_id]}
    assert hidden[problem.task_id][wrong_on_hidden_only] is False


def test_a_vllm_pool_has_a_folder_of_its_own_and_an_hf_pool_keeps_its_name(sampling):
    settings = {"prompts": "synth-prompts", "offset": 0, "limit": 6400, "samples": 48}
    hf = sampling.pool_name("synth-coder-cpu-abc", argparse.Namespace(**settings, engine="hf"), 1001)
    vllm_pool = sampling.pool_name("synth-coder-cpu-abc", argparse.Namespace(**settings, engine="vllm"), 1001)
    assert hf == "samples-synth-coder-cpu-abc-synth-prompts-0+6400x48-1001"  # the pools drawn before vLLM
    assert vllm_pool == hf + "-vllm"


def test_two_given_models_in_folders_of_one_name_get_labels_of_their_own_and_a_built_coder_keeps_its_name(
    sampling, tmp_path
):
    first, second = tmp_path / "a" / "model", tmp_path / "b" / "model"  # two runs' `round-1/model`
    for folder, weights in ((first, b"first"), (second, b"second")):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(weights)
    labels = {sampling.model_label(folder, given=True) for folder in (first, second)}
    assert len(labels) == 2 and all(label.startswith("model-") for label in labels)
    assert sampling.model_label(first, given=True) == sampling.model_label(first, given=True)
    coder = tmp_path / "synth-coder-cpu-abc"  # its name is its recipe's hash: its pools keep their names
    assert sampling.model_label(coder, given=False) == "synth-coder-cpu-abc"


def test_the_loop_samples_with_vllm_what_it_samples_with_hf_greedy_and_a_finished_pool_loads_no_model(
    sampling, vllm_tiny_model_dir, tmp_path, monkeypatch
):
    built = []  # the backend of each engine `sample` builds: the real ones, only recorded

    def recorded(engine, model, **options):
        generator = make_engine(engine, model, **options)
        built.append(generator.info.backend)
        return generator

    make_engine = engines.make_engine
    monkeypatch.setattr(engines, "make_engine", recorded)
    model = vllm_tiny_model_dir
    problems = load_problems("synth-prompts")[:3]

    ours = sampling.sample(model, problems, tmp_path / "vllm.jsonl", 2, 0.0, 5, engine="vllm")
    theirs = sampling.sample(model, problems, tmp_path / "hf.jsonl", 2, 0.0, 5, engine="hf")
    assert built == ["vllm", "hf"] and ours == theirs
    assert set(ours) == {p.task_id for p in problems} and all(len(v) == 2 for v in ours.values())
    # Every prompt is in the file: no engine is built, so even an unknown one reads the pool back.
    again = sampling.sample(model, problems, tmp_path / "vllm.jsonl", 2, 0.0, 5, engine="no-such-engine")
    assert again == ours
