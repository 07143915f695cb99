"""Sampling benchmark problems outside the loop: each problem's solution or test prompt into a resumable
file, read back cut at the prompt's stops. On real synth problems with the tiny local model."""

import json

import pytest

from codepref.data import load_problems
from codepref.generate import GenerationRequest
from codepref.generate.hf import HFGenerator
from codepref.generate.sampling import problem_prompt, read_problem_samples, sample_problems
from codepref.tasks.prompts import BODY_STOPS, TEST_STOPS

REQUEST = GenerationRequest(prompts=(), n=2, temperature=0.8, max_tokens=12, seed=0)


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    with HFGenerator(str(tiny_model_dir), device="cpu", batch_size=8) as gen:
        yield gen


@pytest.fixture(scope="module")
def problems():
    return load_problems("synth-validation")[:3]


def file_rows(path) -> dict:
    return {row["key"]: row for row in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize("tests", [False, True])
def test_each_problem_gets_n_completions_of_its_own_prompt_cut_at_its_stops(
    generator, problems, tmp_path, tests
):
    out = tmp_path / "samples.jsonl"
    sampled = sample_problems(generator, problems, out, REQUEST, tests=tests)
    assert list(sampled) == [p.task_id for p in problems] and all(len(v) == 2 for v in sampled.values())
    rows = file_rows(out)
    for problem in problems:
        assert rows[problem.task_id]["prompt"] == problem_prompt(problem, tests).text
    assert rows[problems[0].task_id]["prompt"].endswith("assert ") == tests
    stops = TEST_STOPS if tests else BODY_STOPS
    assert not any(stop in text for texts in sampled.values() for text in texts for stop in stops)


def test_a_problem_already_in_the_file_is_not_sampled_again(generator, problems, tmp_path):
    out = tmp_path / "samples.jsonl"
    first = sample_problems(generator, problems[:2], out, REQUEST)
    again = sample_problems(
        generator, problems, out, GenerationRequest(prompts=(), n=2, seed=99, max_tokens=12)
    )
    assert {k: again[k] for k in first} == first
    assert list(file_rows(out)) == [p.task_id for p in problems]  # only the third was added


def test_reading_back_cuts_at_the_stops_and_keeps_only_the_problems_asked_for(problems, tmp_path):
    out = tmp_path / "samples.jsonl"
    body = "    return 1\n"
    rows = [
        {"key": problems[0].task_id, "completions": [{"text": body + "\ndef other():\n    pass\n"}]},
        {"key": problems[1].task_id, "completions": [{"text": body}]},
    ]
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert read_problem_samples([problems[0], problems[2]], out) == {problems[0].task_id: [body]}
