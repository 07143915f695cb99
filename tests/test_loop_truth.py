"""The hidden-test verdicts of a loop round's samples, judged in the loop's own sandbox on real synth
problems, and kept in the round's folder."""

import json

from codepref.loop.code_loop import Loop
from codepref.loop.config import EvalSettings, GenerationSettings, LoopConfig, ProblemSet, SandboxSettings
from codepref.loop.truth import round_verdicts


def write_samples(loop: Loop, texts: dict[str, list[str]]) -> None:
    """Round 1's solutions file, as the generate stage writes it."""
    path = loop.runner.stage_dir(1, "generate") / "solutions.jsonl"
    path.parent.mkdir(parents=True)
    rows = [{"key": key, "completions": [{"text": t} for t in per]} for key, per in texts.items()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_each_sample_of_the_round_is_judged_by_its_problems_hidden_tests_once(tiny_model_dir, tmp_path):
    cfg = LoopConfig(
        name="truth",
        model=str(tiny_model_dir),
        runs_dir=str(tmp_path),
        train_problems=ProblemSet("synth-validation", limit=2),
        generation=GenerationSettings(style="completion"),
        sandbox=SandboxSettings(backend="process", workers=1),
        eval=EvalSettings(sets=[]),
    )
    loop = Loop(cfg)
    with loop.session():
        first, second = loop.training_tasks()
        # The round's raw samples: the canonical body, a wrong one, and the canonical body running on into
        # a next function (the prompt's stops cut it off, as they cut every sample's program).
        right = first.problem.canonical_solution
        write_samples(
            loop,
            {
                first.key: [right, "    return None\n", right + "\ndef helper():\n    raise ValueError\n"],
                second.key: [right],
            },
        )
        verdicts = round_verdicts(loop, 1, [first, second])
        assert verdicts == {
            f"{first.key}#0": True,
            f"{first.key}#1": False,
            f"{first.key}#2": True,
            f"{second.key}#0": False,  # another problem's solution
        }
        cache = loop.runner.stage_dir(1, "generate") / "hidden_verdicts.json"
        cache.write_text(json.dumps({"planted": True}))
        assert round_verdicts(loop, 1, [first, second]) == {"planted": True}  # judged once per round
