from pathlib import Path

import yaml

from codepref.loop.config import default_config, settings_tables
from codepref.loop.validate import config_from_dict

ROOT = Path(__file__).resolve().parents[1]


def test_the_built_in_default_trains_with_the_efficacy_benchmarks_settings():
    data = yaml.safe_load((ROOT / "configs" / "synth-efficacy.yaml").read_text(encoding="utf-8"))
    data.pop("efficacy")
    benchmark = config_from_dict(data, "configs/synth-efficacy.yaml")
    default = default_config()
    assert default.model == benchmark.model
    assert default.generation == benchmark.generation
    assert default.matrix == benchmark.matrix
    assert default.pairs == benchmark.pairs
    assert default.train == benchmark.train
    assert default.train_problems.benchmark == benchmark.train_problems.benchmark
    assert default.train_problems.offset == benchmark.train_problems.offset


def test_no_shipped_config_falls_back_to_it_parses_pairs():
    shipped = sorted((ROOT / "configs").rglob("*.yaml"))
    assert shipped
    for path in shipped:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        assert (data.get("pairs") or {}).get("fallback", "none") == "none", path


def test_the_readmes_settings_tables_are_the_fields_own():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = (
        readme.split("<!-- generated: ", 1)[1]
        .split("-->\n", 1)[1]
        .split("\n<!-- end of generated tables -->")[0]
    )
    assert shown == settings_tables(), "regenerate the README's tables with the command above them"
