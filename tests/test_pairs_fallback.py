"""The executability fallback, in the real sandbox: only where the sampled tests gave no signal."""

import pytest
from matrices import make_matrix, ranked

from codepref.pairs.config import PairConfig
from codepref.pairs.fallback import executability_pairs
from codepref.pairs.storage import write_pairs

LOADS = "    return x\n"
RAISES = "    return x\nraise ValueError('at import')\n"
BROKEN = "    return (\n"


@pytest.fixture(scope="module")
def sandbox(docker_image):
    from codepref.sandbox import Sandbox
    from codepref.sandbox.types import limits_profile

    with Sandbox(backend="docker", workers=2, limits=limits_profile("execution")) as box:
        yield box


@pytest.mark.docker
def test_a_solution_that_loads_is_preferred_over_one_that_raises_or_does_not_parse(sandbox):
    matrix = make_matrix("p", [[0], [0], [0]], solutions=[BROKEN, LOADS, RAISES])
    pairs = executability_pairs(matrix, sandbox, per_problem=2)
    assert [(p.chosen, p.rejected) for p in pairs] == [(LOADS, BROKEN)]
    assert pairs[0].kind == "executability" and pairs[0].chosen_index == 1 and pairs[0].margin == 2.0


@pytest.mark.docker
def test_the_fallback_never_pairs_a_problem_the_trust_gate_rejected(sandbox, tmp_path):
    silent = make_matrix("silent", [[0, 0], [0, 0]], solutions=[LOADS, BROKEN])
    # Some solution passes a sampled test, but too weakly for the gate: no pair of any kind.
    weak = make_matrix(
        "weak",
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]],
        solutions=[LOADS, RAISES, "    return 1\n", BROKEN],
    )
    config = PairConfig(method="codet", fallback="executability", min_top_confidence=0.9)
    rankings = {m.task_id: ranked(m, config) for m in (silent, weak)}
    assert rankings["weak"].has_signal and not rankings["weak"].trusted(0.9)
    summary = write_pairs([silent, weak], rankings, tmp_path / "out", config, sandbox=sandbox)
    assert summary["pairs"] == summary["fallback_pairs"] == 1
    off = PairConfig(method="codet", min_top_confidence=0.9)
    assert write_pairs([silent, weak], rankings, tmp_path / "off", off, sandbox=sandbox)["pairs"] == 0
