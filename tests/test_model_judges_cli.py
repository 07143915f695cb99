"""`codepref judge`: pairs with confidence and source from a JSONL of prompts, resumable, one-line errors."""

import json

from typer.testing import CliRunner

from codepref.cli import app

runner = CliRunner()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_judging_given_candidates_and_sampled_ones_writes_pairs_and_a_summary(tiny_model_dir, tmp_path):
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {
                "prompt": "Name a prime.",
                "candidates": ["7", "8", "9"],
                "sources": ["policy", "helper", "policy"],
                "task_id": "t1",
            },
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Say hi."},
                ]
            },
        ],
    )
    out = tmp_path / "out"
    args = [
        "judge",
        str(source),
        "--model",
        str(tiny_model_dir),
        "-o",
        str(out),
        "--samples",
        "3",
        "--max-tokens",
        "6",
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    pairs = read_jsonl(out / "pairs.jsonl")
    assert [p["task_id"] for p in pairs][:1] == ["t1"]
    assert pairs[0]["prompt"] == "Name a prime." and pairs[0]["judge"] == "logit"
    assert all(0.0 <= p["confidence"] <= 1.0 and p["source"] in ("policy", "multi:helper") for p in pairs)
    summary = json.loads((out / "summary.json").read_text())
    assert sum(summary["pairs_by_source"].values()) == len(pairs)
    # A rerun finds every prompt done and adds nothing.
    assert runner.invoke(app, args).exit_code == 0
    assert len(read_jsonl(out / "pairs.jsonl")) == len(pairs)


def test_consistency_reports_what_each_member_alone_would_keep(tiny_model_dir, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "Name a prime.", "candidates": ["7", "8", "9"]}])
    out = tmp_path / "out"
    args = ["judge", str(source), "--model", str(tiny_model_dir), "--reference-model", str(tiny_model_dir)]
    args += [
        "--judge",
        "consistency",
        "--members",
        "logit,implicit_reward",
        "-o",
        str(out),
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "summary.json").read_text())["consistency"]
    # The policy is its own reference: the implicit reward has no opinion, so nothing survives.
    assert report["candidate_pairs"] == 3 and report["kept_by_judge"]["implicit_reward"] == 0
    assert report["survivors"] == 0 and (out / "pairs.jsonl").read_text() == ""


def test_bad_input_gets_one_line_naming_the_file_and_line(tiny_model_dir, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "ok"}, {"question": "no prompt"}])
    result = runner.invoke(app, ["judge", str(source), "--model", "m", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "in.jsonl:2: needs a string field 'prompt'" in result.output and "Traceback" not in result.output
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "p", "candidates": "not a list"}])
    result = runner.invoke(app, ["judge", str(bad), "--model", "m", "-o", str(tmp_path / "o")])
    assert (
        result.exit_code == 2 and "bad.jsonl:1: field 'candidates' must be a list of strings" in result.output
    )
    result = runner.invoke(
        app, ["judge", str(source), "--model", "m", "-o", str(tmp_path / "o"), "--judge", "oracle"]
    )
    assert result.exit_code == 2 and "unknown judge 'oracle'" in result.output
