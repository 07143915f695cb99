"""Self-refinement pairs: feedback, a refined answer, and a pair in the direction the judge says."""

import pytest

from codepref.matrix import SandboxMatrixBuilder
from codepref.model_judges.refinement import GENERIC_FEEDBACK, SandboxFeedback, refinement_pairs
from codepref.rank.judge import ExecutionJudge
from codepref.sandbox import Sandbox

PROMPT = "def add(a, b):\n"
TESTS = {PROMPT: ["assert add(0, 0) == 0", "assert add(1, 2) == 3"]}
HALF_RIGHT = "    return a - b\n"  # passes the first test only
RIGHT = "    return a + b\n"


@pytest.fixture(scope="module")
def sandbox(docker_image):
    with Sandbox(backend="docker", workers=1) as box:
        yield box


@pytest.mark.docker
def test_sandbox_feedback_names_the_first_failing_test_and_is_silent_on_a_pass(sandbox):
    feedback = SandboxFeedback(sandbox, TESTS, test_timeout_s=2.0)
    note = feedback(PROMPT, HALF_RIGHT)
    assert note.startswith("This test fails (failed): assert add(1, 2) == 3")
    assert feedback(PROMPT, RIGHT) is None
    assert feedback(PROMPT, "    return (\n").startswith("Running the code failed")


@pytest.mark.docker
def test_a_refinement_that_executes_worse_becomes_a_regression_pair(sandbox, tiny_judge_model):
    # The tiny model's refinement is noise: it cannot pass add(0, 0) == 0 the way the initial answer does.
    judge = ExecutionJudge("codet", SandboxMatrixBuilder(sandbox, test_timeout_s=2.0), TESTS)
    pairs = refinement_pairs(
        tiny_judge_model,
        [PROMPT, PROMPT],
        judge,
        feedback=SandboxFeedback(sandbox, TESTS, test_timeout_s=2.0),
        initial=[HALF_RIGHT, RIGHT],
        max_tokens=12,
        task_ids=["half", "right"],
    )
    assert len(pairs) == 1  # the passing answer got no feedback, so nothing to refine
    pair = pairs[0]
    assert (pair.chosen, pair.kind, pair.source, pair.task_id) == (
        HALF_RIGHT,
        "regression",
        "refinement",
        "half",
    )
    assert pair.rejected != HALF_RIGHT and pair.confidence == 1.0


def test_text_refinement_uses_generic_feedback_and_a_self_judge(tiny_judge_model):
    from codepref.model_judges.logit import LogitSelfJudge

    seen = []

    def feedback(prompt, answer):
        seen.append(answer)
        return GENERIC_FEEDBACK

    prompts = ["Name a colour.", "Name a fruit."]
    pairs = refinement_pairs(
        tiny_judge_model, prompts, LogitSelfJudge(tiny_judge_model), feedback=feedback, max_tokens=8
    )
    assert len(seen) == 2
    for pair in pairs:
        assert pair.prompt in prompts and pair.kind in ("refinement", "regression")
        assert 0.0 <= pair.confidence <= 1.0 and pair.source == "refinement"
        assert (pair.chosen in seen) == (pair.kind == "regression")
