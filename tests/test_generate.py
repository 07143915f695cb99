import json
import math

import pytest

from codepref.generate import GenerationRequest, PromptRecord, generate_jsonl, make_generator
from codepref.generate.hf import HFGenerator

PROMPTS = ("def add(a, b):\n", 'import os\n\n\ndef read(path):\n    """Read a file."""\n', "x = [")


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    with HFGenerator(str(tiny_model_dir), device="cpu", batch_size=8) as gen:
        yield gen


def test_n_samples_per_prompt_in_prompt_order(generator):
    request = GenerationRequest(prompts=PROMPTS, n=3, max_tokens=12, seed=0, logprobs=True)
    result = generator.generate(request)
    assert len(result) == len(PROMPTS) and all(len(samples) == 3 for samples in result)
    for samples in result:
        assert len({s.text for s in samples}) > 1  # sampled, not greedy copies
        for s in samples:
            assert s.finish_reason in ("stop", "length") and 0 < s.num_tokens <= 12
            assert len(s.token_logprobs) == s.num_tokens
            assert all(lp <= 0 and math.isfinite(lp) for lp in s.token_logprobs)
    # A different prompt order gives each prompt back in its own slot.
    reordered = generator.generate(GenerationRequest(prompts=PROMPTS[::-1], n=1, max_tokens=4, seed=0))
    assert len(reordered) == 3


def test_seed_reproducibility(generator):
    request = GenerationRequest(prompts=PROMPTS, n=2, max_tokens=16, seed=123)
    first = [[c.text for c in s] for s in generator.generate(request)]
    again = [[c.text for c in s] for s in generator.generate(request)]
    other = [
        [c.text for c in s]
        for s in generator.generate(GenerationRequest(prompts=PROMPTS, n=2, max_tokens=16, seed=124))
    ]
    assert first == again
    assert first != other


def test_greedy_is_deterministic_without_seed(generator):
    request = GenerationRequest(prompts=PROMPTS[:1], n=2, max_tokens=8, temperature=0.0)
    (samples,) = generator.generate(request)
    assert samples[0].text == samples[1].text


def test_stop_sequences_cut_the_completion(generator):
    """Sample without stops, pick a piece of a completion as the stop, and resample with the same seed:
    the completion must end right before that piece, and count as stopped."""
    base = GenerationRequest(prompts=PROMPTS[:1], n=1, max_tokens=24, seed=7)
    (full,) = generator.generate(base)[0]
    assert len(full.text) > 6
    stop = full.text[4:7]
    (cut,) = generator.generate(
        GenerationRequest(prompts=PROMPTS[:1], n=1, max_tokens=24, seed=7, stop=(stop, "\x00never"))
    )[0]
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop"
    assert cut.num_tokens < full.num_tokens


def test_generate_jsonl_writes_per_prompt_and_resumes(generator, tmp_path):
    records = [PromptRecord(key=f"p{i}", prompt=p, meta={"task_id": f"T/{i}"}) for i, p in enumerate(PROMPTS)]
    request = GenerationRequest(prompts=(), n=2, max_tokens=6, seed=1)
    out = tmp_path / "gen.jsonl"
    generate_jsonl(generator, records[:2], out, request, chunk_size=1)
    with out.open("a") as fh:
        fh.write('{"key": "torn')  # a writer killed mid-line
    generate_jsonl(generator, records, out, request, chunk_size=2)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["key"] for line in lines] == ["p0", "p1", "p2"]  # the first two were not regenerated
    assert lines[2]["task_id"] == "T/2" and len(lines[2]["completions"]) == 2
    assert set(lines[0]["completions"][0]) == {"text", "finish_reason", "num_tokens", "token_logprobs"}


def test_request_validation():
    with pytest.raises(ValueError, match="n must be"):
        GenerationRequest(prompts=("x",), n=0)
    with pytest.raises(ValueError, match="top_p"):
        GenerationRequest(prompts=("x",), top_p=0)
    with pytest.raises(ValueError, match="unknown generator backend"):
        make_generator("tpu", "m")
