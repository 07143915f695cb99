"""Single- vs multi-model sourcing: other models' responses only when named, and every pair's source."""

from codepref.model_judges.sourcing import candidate_pool, pair_source


def test_the_default_pool_is_the_policys_own_samples(tiny_judge_model):
    pools = candidate_pool(["Say hi.", "Say bye."], tiny_judge_model, n=3, max_tokens=6)
    assert [len(p) for p in pools] == [3, 3]
    assert {r.source for pool in pools for r in pool} == {"policy"}


def test_other_models_join_only_when_configured_and_are_named(tiny_judge_model):
    pools = candidate_pool(
        ["Say hi."], tiny_judge_model, n=2, others={"helper": tiny_judge_model}, n_other=2, max_tokens=6
    )
    assert [r.source for r in pools[0]] == ["policy", "policy", "helper", "helper"]


def test_a_pair_names_the_other_models_it_mixes_in():
    assert pair_source("policy", "policy") == "policy"
    assert pair_source("policy", "helper") == "multi:helper"
    assert pair_source("b", "a") == "multi:a+b"
