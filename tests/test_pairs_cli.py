"""`codepref pairs`: ranking and pairing from a matrix file, with the loop's defaults."""

import json

from matrices import CODET, make_matrix
from typer.testing import CliRunner

from codepref.cli import app
from codepref.matrix.format import save_matrices


def test_cli_writes_pairs(tmp_path):
    path = save_matrices([make_matrix("task/0", CODET), make_matrix("task/1", CODET)], tmp_path / "m.jsonl")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["pairs", str(path), "--method", "codet", "-o", str(out), "--codet-weight", "sqrt"]
    )
    assert result.exit_code == 0, result.output
    assert "4 pairs from 2 problems" in result.output
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {r["chosen_id"] for r in rows} == {
        "task/0#2",
        "task/1#2",
    }  # sqrt weighting: solution 2 alone on top
    again = CliRunner().invoke(app, ["pairs", str(path), "--method", "codet", "-o", str(out)])
    assert again.exit_code == 2 and "other settings" in again.output  # count weighting != the sqrt run
    bad = CliRunner().invoke(app, ["pairs", str(path), "--method", "vote", "-o", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "method" in bad.output


def test_every_cli_default_is_the_pair_configs_default():
    import inspect

    from codepref.pairs.cli import pairs_command
    from codepref.pairs.config import PairConfig

    defaults = {name: p.default for name, p in inspect.signature(pairs_command).parameters.items()}
    config = PairConfig()
    renamed = {"repeats": "timing_repeats"}
    for name, value in defaults.items():
        field = renamed.get(name, name)
        if hasattr(config, field) and field != "min_top_confidence":
            assert value == getattr(config, field), name
    assert defaults["min_top_confidence"] is None  # None: the per-method default, as in PairConfig
