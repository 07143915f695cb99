"""SAMI records from a constitution file: responses sampled under principles and under their antitheses."""

import pytest

from codepref.model_judges.sami import load_constitution, sami_records, under_principles

CONSTITUTION = """principles:
  - text: Answer correctly.
    antithesis: Answer wrongly.
  - text: Be brief.
    antithesis: Ramble on.
"""


def test_records_pair_a_principled_prompt_with_its_antithesis(tiny_judge_model, tmp_path):
    path = tmp_path / "constitution.yaml"
    path.write_text(CONSTITUTION)
    constitution = load_constitution(path)
    records = sami_records(
        tiny_judge_model, ["Name a colour.", "Name a fruit."], constitution, per_record=1, max_tokens=6
    )
    assert len(records) == 2
    for record, prompt in zip(records, ["Name a colour.", "Name a fruit."], strict=True):
        (principle,) = [p for p in constitution if p.text == record["principles"][0]]
        assert record["prompt"] == tiny_judge_model.instruction(under_principles([principle.text], prompt))
        assert record["counter_prompt"] == tiny_judge_model.instruction(
            under_principles([principle.antithesis], prompt)
        )
        assert isinstance(record["chosen"], str) and isinstance(record["rejected"], str)
    again = sami_records(
        tiny_judge_model, ["Name a colour.", "Name a fruit."], constitution, per_record=1, max_tokens=6
    )
    assert again == records  # seeded


def test_a_malformed_constitution_is_refused_by_name(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("principles:\n  - text: only a text\n")
    with pytest.raises(
        ValueError, match=r"c.yaml: principles\[1\] needs string fields 'text' and 'antithesis'"
    ):
        load_constitution(path)
    path.write_text("rules: []\n")
    with pytest.raises(ValueError, match="non-empty list under 'principles'"):
        load_constitution(path)
