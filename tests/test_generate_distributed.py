"""`RayGenerator`: one HF engine per node of a real two-node Ray cluster on this machine, against one local
`HFGenerator` on the same tiny model."""

from __future__ import annotations

import pytest
import ray
from ray.cluster_utils import Cluster

from codepref.generate import GenerationRequest, make_generator
from codepref.generate.distributed import _shards
from codepref.generate.hf import HFGenerator

PROMPTS = ("def add(a, b):\n", "import os\n", "x = [", "class A:\n", "for i in range(")


@pytest.fixture(scope="module")
def spread(tiny_model_dir):
    node = {"num_cpus": 1, "object_store_memory": 80 << 20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    options = {"device": "cpu", "dtype": "float32"}
    with make_generator("ray", str(tiny_model_dir), engine="hf", **options) as generator:
        yield generator
    ray.shutdown()
    cluster.shutdown()


def test_one_engine_runs_on_each_node(spread):
    assert spread.info.backend == "ray" and spread.info.extra["engines"] == 2 and spread.info.device == "cpu"


def test_greedy_samples_equal_one_local_generator_in_prompt_order(spread, tiny_model_dir):
    request = GenerationRequest(prompts=PROMPTS, n=2, max_tokens=12, temperature=0.0, logprobs=True)
    with HFGenerator(str(tiny_model_dir), device="cpu", dtype="float32") as local:
        expected = local.generate(request)
    got = spread.generate(request)
    assert [[(c.text, c.num_tokens, c.finish_reason) for c in samples] for samples in got] == [
        [(c.text, c.num_tokens, c.finish_reason) for c in samples] for samples in expected
    ]
    for mine, reference in zip(got, expected, strict=True):  # engines may use other thread counts
        for a, b in zip(mine, reference, strict=True):
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)


def test_sampling_gives_n_per_prompt_and_a_seed_reproduces_them(spread):
    request = GenerationRequest(prompts=PROMPTS, n=3, max_tokens=8, seed=5)
    first, again = spread.generate(request), spread.generate(request)
    assert [len(samples) for samples in first] == [3] * len(PROMPTS)
    assert first == again


def test_shards_cover_every_prompt_once_with_sizes_at_most_one_apart():
    assert _shards(5, 2) == [(0, 3), (3, 5)]
    assert _shards(1, 3) == [(0, 1), (1, 1), (1, 1)]
