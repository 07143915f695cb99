"""`VLLMGenerator` on PyPI's CPU build of vLLM, against `HFGenerator` on the same small random Qwen2."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import vllm  # noqa: F401  - a missing vLLM fails this file instead of skipping it

from codepref.generate import GenerationRequest, vllm_usable
from codepref.generate.hf import HFGenerator
from codepref.generate.vllm import VLLMGenerator, vllm_build

PROMPTS = ("def add(a, b):\n", 'import os\n\n\ndef read(path):\n    """Read a file."""\n', "x = [")


@pytest.fixture(scope="module")
def model_dir(vllm_tiny_model_dir) -> str:
    return str(vllm_tiny_model_dir)


@pytest.fixture(scope="module")
def vllm_generator(model_dir):
    with VLLMGenerator(model_dir, dtype="float32", max_model_len=512) as generator:
        yield generator


@pytest.fixture(scope="module")
def hf_generator(model_dir):
    with HFGenerator(model_dir, device="cpu", dtype="float32") as generator:
        yield generator


def texts(result) -> list[list[str]]:
    return [[c.text for c in samples] for samples in result]


def test_the_cpu_build_is_detected_and_auto_picks_it():
    assert vllm_build() == "cpu"
    assert vllm_usable()


def test_it_runs_on_the_cpu(vllm_generator):
    assert vllm_generator.info.backend == "vllm" and vllm_generator.info.device == "cpu"


def test_n_samples_per_prompt_in_prompt_order_with_log_probs(vllm_generator):
    result = vllm_generator.generate(
        GenerationRequest(prompts=PROMPTS, n=3, max_tokens=12, seed=0, logprobs=True)
    )
    assert [len(samples) for samples in result] == [3, 3, 3]
    for samples in result:
        assert len({s.text for s in samples}) > 1  # sampled, not greedy copies
        for s in samples:
            assert s.finish_reason in ("stop", "length") and 0 < s.num_tokens <= 12
            assert len(s.token_logprobs) == s.num_tokens
            assert all(lp <= 0 and math.isfinite(lp) for lp in s.token_logprobs)


def test_seeded_sampling_of_more_prompt_tokens_than_one_engine_step_takes(vllm_generator):
    # 16 prompts of ~400 tokens: more than the CPU engine's 4096-token step, which made vLLM 0.32's CPU
    # build crash on seeded requests until chunked prefill was turned off.
    long_prompts = tuple(f"def f{i}():\n" + "    value = value + 1\n" * 60 for i in range(16))
    result = vllm_generator.generate(GenerationRequest(prompts=long_prompts, n=2, max_tokens=8, seed=3))
    assert [len(samples) for samples in result] == [2] * 16


def test_greedy_text_and_log_probs_match_hf_on_the_same_model(vllm_generator, hf_generator):
    request = GenerationRequest(prompts=PROMPTS, n=2, max_tokens=16, temperature=0.0, logprobs=True)
    ours, theirs = vllm_generator.generate(request), hf_generator.generate(request)
    assert texts(ours) == texts(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        for a, b in zip(mine, reference, strict=True):
            assert (a.finish_reason, a.num_tokens) == (b.finish_reason, b.num_tokens)
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-3)


def test_a_seed_reproduces_its_samples_and_another_seed_does_not(vllm_generator):
    def sample(seed: int) -> list[list[str]]:
        return texts(
            vllm_generator.generate(GenerationRequest(prompts=PROMPTS, n=2, max_tokens=16, seed=seed))
        )

    assert sample(123) == sample(123)
    assert sample(123) != sample(124)


def test_stop_sequences_cut_the_text_and_its_tokens(vllm_generator):
    greedy = GenerationRequest(prompts=PROMPTS[:1], n=1, max_tokens=24, temperature=0.0, logprobs=True)
    (full,) = vllm_generator.generate(greedy)[0]
    stop = full.text[4:7]
    assert len(full.text) > 6
    (cut,) = vllm_generator.generate(replace(greedy, stop=(stop, "\x00never")))[0]
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop" and 0 < cut.num_tokens < full.num_tokens
    assert cut.token_logprobs == pytest.approx(full.token_logprobs[: cut.num_tokens], abs=1e-6)
