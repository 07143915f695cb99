"""benchmarks/efficacy.py's own parts: each ranker's trust gate, reusing round 1 between sources of one seed,
the held-out scores' cache, and the step sources' loop settings. (The oracle and random pair sources are
codepref.pairs.baselines'; generated-test accuracy and step-pair precision are codepref.loop.truth's.)"""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from codepref.loop.stages import MARKER, RUN_PREFIX, STARTED, StageRunner
from codepref.loop.validate import config_from_dict
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE
from codepref.records import read_jsonl
from codepref.steps.config import StepPairSettings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def efficacy(benchmark_script):
    return benchmark_script("efficacy")


@pytest.fixture
def base_config(tmp_path):
    data = yaml.safe_load((ROOT / "configs" / "synth-efficacy.yaml").read_text(encoding="utf-8"))
    data.pop("efficacy")
    return replace(config_from_dict(data, "configs/synth-efficacy.yaml"), runs_dir=str(tmp_path / "runs"))


@pytest.fixture
def tiny_config(base_config, tiny_model_dir):
    """The efficacy config on the tiny model, for a loop session that must not build the synth coder."""
    return replace(base_config, model=str(tiny_model_dir))


def test_each_ranker_gets_its_own_trust_gate_not_the_one_of_the_configs_pairing_method(efficacy, base_config):
    runs = Path(base_config.runs_dir)
    assert base_config.pairs.method == "codedpo"
    gates = {
        s: efficacy.source_config(base_config, s, 0, runs).pairs.min_top_confidence for s in efficacy.SOURCES
    }
    assert gates["codet"] == DEFAULT_MIN_TOP_CONFIDENCE["codet"]
    assert gates["dstc"] == gates["dstc-kto"] == DEFAULT_MIN_TOP_CONFIDENCE["dstc"]
    assert gates["codedpo"] == DEFAULT_MIN_TOP_CONFIDENCE["codedpo"]
    chosen = efficacy.source_config(base_config, "codet", 0, runs, {"codet": 0.25, "dstc": 0.5})
    assert chosen.pairs.min_top_confidence == 0.25


def write_stage(run_dir: Path, stage: str, inputs_hash: str) -> None:
    directory = run_dir / "round-1" / stage
    directory.mkdir(parents=True)
    (directory / "out.jsonl").write_text("{}\n")
    summary = {"out_file": f"{RUN_PREFIX}round-1/{stage}/out.jsonl"}  # as StageRunner writes a run's own path
    (directory / MARKER).write_text(json.dumps({"inputs_hash": inputs_hash, "summary": summary}))
    (directory / STARTED).write_text(json.dumps({"inputs_hash": inputs_hash}))


def test_round_one_samples_and_matrix_are_copied_from_a_finished_source_of_the_same_seed(
    efficacy, base_config
):
    donor = efficacy.source_config(base_config, "oracle", 0, Path(base_config.runs_dir)).run_dir
    for stage in ("generate", "matrix", "rank"):
        write_stage(donor, stage, "h-" + stage)
    cfg = efficacy.source_config(base_config, "codet", 0, Path(base_config.runs_dir))
    efficacy.share_first_round(cfg, 0)
    for stage in ("generate", "matrix"):
        saved = json.loads((cfg.run_dir / "round-1" / stage / MARKER).read_text())
        assert saved["inputs_hash"] == "h-" + stage
        assert saved["summary"]["out_file"] == f"{RUN_PREFIX}round-1/{stage}/out.jsonl"
        assert (cfg.run_dir / "round-1" / stage / "out.jsonl").exists()
    assert not (cfg.run_dir / "round-1" / "rank").exists()  # the ranking is the source's own


def test_nothing_is_copied_from_another_seed_or_from_an_unfinished_source(efficacy, base_config):
    runs = Path(base_config.runs_dir)
    write_stage(efficacy.source_config(base_config, "oracle", 1, runs).run_dir, "generate", "g")
    write_stage(efficacy.source_config(base_config, "oracle", 1, runs).run_dir, "matrix", "m")
    write_stage(efficacy.source_config(base_config, "random", 0, runs).run_dir, "generate", "g")
    cfg = efficacy.source_config(base_config, "codet", 0, runs)
    efficacy.share_first_round(cfg, 0)
    assert not (cfg.run_dir / "round-1").exists()


def plant_scores(evals, scores: dict, split: str = "synth-validation") -> None:
    """Overwrite the finished evaluation's recorded scores, to see whether the next call reuses them."""
    marker = evals.stage_dir(0, split) / MARKER
    saved = json.loads(marker.read_text())
    marker.write_text(json.dumps({**saved, "summary": scores}))


def test_held_out_scores_are_reused_only_for_the_same_weights_and_settings(
    efficacy, tiny_config, tiny_model_dir, tmp_path
):
    bench = efficacy.BenchSettings(eval_benchmark="synth-validation", eval_limit=2, samples=2, max_tokens=4)
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    evals = StageRunner(tmp_path / "eval" / "seed0" / "base")
    loop = efficacy.EfficacyLoop(tiny_config, "oracle")
    with loop.session():
        scores = efficacy.eval_scores(loop, str(model), bench, evals, 0)
        assert set(scores) == {"greedy pass@1", "sampled pass@1", "sampled pass@2"}
        plant_scores(evals, {"marker": 1.0})
        assert efficacy.eval_scores(loop, str(model), bench, evals, 0) == {"marker": 1.0}
        more_seeds = replace(bench, seeds=(0, 1, 2, 3), sources=("oracle",))  # scores do not depend on these
        assert efficacy.eval_scores(loop, str(model), more_seeds, evals, 0) == {"marker": 1.0}

        config = model / "config.json"
        config.write_text(config.read_text() + "\n")  # other weights: a rebuilt or retrained model
        assert efficacy.eval_scores(loop, str(model), bench, evals, 0) == scores

        plant_scores(evals, {"marker": 1.0})
        assert "marker" not in efficacy.eval_scores(loop, str(model), replace(bench, samples=3), evals, 0)
        plant_scores(evals, {"marker": 1.0})
        assert "marker" not in efficacy.eval_scores(loop, str(model), replace(bench, eval_offset=1), evals, 0)


def test_each_evaluation_split_keeps_its_own_scores_beside_the_others(
    efficacy, base_config, tiny_config, tiny_model_dir, tmp_path
):
    validation = efficacy.BenchSettings(
        eval_benchmark="synth-validation", eval_limit=2, samples=2, max_tokens=4
    )
    train = efficacy.on_split(validation, base_config, "train")
    evals = StageRunner(tmp_path / "eval" / "seed0" / "base")
    loop = efficacy.EfficacyLoop(tiny_config, "oracle")
    with loop.session():
        efficacy.eval_scores(loop, str(tiny_model_dir), validation, evals, 0)
        plant_scores(evals, {"marker": 1.0})
        efficacy.eval_scores(loop, str(tiny_model_dir), train, evals, 0)
        assert efficacy.eval_scores(loop, str(tiny_model_dir), validation, evals, 0) == {"marker": 1.0}
    samples = read_jsonl(evals.stage_dir(0, "synth-train") / "greedy" / "synth-train.samples.jsonl")
    assert [s["task_id"] for s in samples] == ["synth-train/2200", "synth-train/2201"]


def test_the_train_split_starts_after_the_loops_last_prompt_and_needs_a_bounded_prompt_range(
    efficacy, base_config
):
    bench = efficacy.BenchSettings(eval_limit=200)
    assert base_config.train_problems.offset == 2000 and base_config.train_problems.limit == 200
    train = efficacy.on_split(bench, base_config, "train")
    assert (train.eval_benchmark, train.eval_offset, train.eval_limit) == ("synth-train", 2200, 200)
    assert efficacy.on_split(train, base_config, "heldout").eval_offset == 0
    unbounded = replace(base_config, train_problems=replace(base_config.train_problems, limit=None))
    with pytest.raises(ValueError, match="--eval-split train needs"):
        efficacy.on_split(bench, unbounded, "train")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["pairs"].update(min_top_confidence=0.2),
            "pairs.min_top_confidence: set each ranker's gate",
        ),
        (lambda c: c["efficacy"].update(trust_gate={"codeT": 0.2}), "efficacy.trust_gate: rankers are"),
    ],
)
def test_a_gate_set_where_it_would_be_ignored_or_for_an_unknown_ranker_is_refused_in_one_line(
    tmp_path, edit, message
):
    config = yaml.safe_load((ROOT / "configs" / "synth-efficacy.yaml").read_text(encoding="utf-8"))
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "efficacy.py"), str(path), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]  # one line
    assert str(path) in run.stderr and message in run.stderr
    assert not (tmp_path / "out").exists()


def test_a_step_source_trains_on_its_step_pairs_alone_with_the_configs_search_settings(efficacy, base_config):
    runs = Path(base_config.runs_dir)
    base = replace(
        base_config, steps=StepPairSettings(method="mcts", budget=12, ratio="1:1", verifier="oracle")
    )
    for source in ("step-dpo", "mcts"):
        steps = efficacy.source_config(base, source, 0, runs).steps
        assert (steps.method, steps.ratio, steps.verifier, steps.budget) == (source, "0:1", "sampled", 12)
    assert efficacy.source_config(base_config, "mcts", 0, runs).steps == StepPairSettings(ratio="0:1")
    assert all(efficacy.source_config(base, s, 0, runs).steps is None for s in ("codet", "oracle", "random"))


def test_each_step_source_is_compared_with_each_ranker_on_its_seeds_last_round(efficacy, tmp_path):
    def write(seed: int, source: str, r: int, passed: list[bool]) -> None:
        out = tmp_path / "eval" / f"seed{seed}" / source / f"round-{r}" / "synth-heldout" / "sampled"
        out.mkdir(parents=True)
        rows = [{"task_id": f"t/{i % 2}", "passed": p} for i, p in enumerate(passed)]
        (out / "synth-heldout.results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    write(0, "codet", 1, [True, False, False, False])
    write(0, "mcts", 2, [False, False, False, False])
    write(0, "mcts", 10, [True, True, True, True])  # the last round, though "round-10" sorts before "round-2"
    write(1, "mcts", 1, [True] * 4)  # seed 1 has no ranker run: nothing to compare
    bench = efficacy.BenchSettings(sources=("codet", "random", "mcts"), seeds=(0, 1), samples=2)
    (found,) = efficacy.step_minus_instance(tmp_path, bench)
    assert (found["seed"], found["step"], found["ranker"]) == (0, "mcts", "codet")
    assert found["change"] == pytest.approx(0.75)  # 2/2 and 2/2 against 1/2 and 0/2
