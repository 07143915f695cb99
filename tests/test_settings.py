"""Settings declared on their fields: every bad choice or range gets one line naming the key and what is
allowed, nested settings under their section's key, an unset value never."""

import dataclasses
from dataclasses import dataclass

import pytest

from codepref.settings import SettingsError, as_yaml, check_settings, raise_problems, setting, settings_table


@dataclass
class Inner:
    share: float = setting(0.5, "A share.", minimum=0, maximum=1)
    timeout_s: float = setting(1.0, "Seconds.", above=0)
    cap: int | None = setting(None, "At most this many (unset: no cap).", minimum=1)


@dataclass
class Outer:
    mode: str = setting("fast", "How.", choices=("fast", "slow"))
    count: int = setting(2, "How many.", minimum=2)
    ceiling: int = setting(3, "Up to.", maximum=9)
    step: float = setting(0.5, "A step.", above=0, maximum=1)
    gap: float = setting(0.0, "A gap.", minimum=0, below=1)
    inner: Inner = setting(help="Nested.", default_factory=Inner)
    inners: list[Inner] = setting(help="Nested, several.", default_factory=list)


def test_the_defaults_pass_and_the_help_is_on_the_field():
    assert check_settings(Outer()) == []
    assert {f.name: f.metadata["help"] for f in dataclasses.fields(Inner)}["share"] == "A share."


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"mode": "warp"}, ("mode", "must be one of fast, slow, got 'warp'")),
        ({"count": 1}, ("count", "must be >= 2, got 1")),
        ({"ceiling": 10}, ("ceiling", "must be <= 9, got 10")),
        ({"step": 0}, ("step", "must lie in (0, 1], got 0")),
        ({"gap": 1.0}, ("gap", "must lie in [0, 1), got 1.0")),
        ({"inner": Inner(share=1.5)}, ("inner.share", "must lie in [0, 1], got 1.5")),
        ({"inner": Inner(timeout_s=0)}, ("inner.timeout_s", "must be > 0, got 0")),
        ({"inner": Inner(cap=0)}, ("inner.cap", "must be >= 1 or null, got 0")),
        ({"inners": [Inner(), Inner(share=-1)]}, ("inners[1].share", "must lie in [0, 1], got -1")),
    ],
)
def test_each_bad_value_is_named_with_what_is_allowed(change, expected):
    assert check_settings(Outer(**change)) == [expected]


def test_every_bad_value_is_reported_at_once_under_the_prefix():
    bad = check_settings(Outer(mode="warp", count=0, inner=Inner(share=2)), "section.")
    assert [key for key, _ in bad] == ["section.mode", "section.count", "section.inner.share"]


def test_an_unset_value_is_not_checked():
    assert check_settings(Inner(cap=None)) == []


def test_a_class_check_raises_every_problem_in_one_error():
    raise_problems([])  # nothing wrong: nothing raised
    with pytest.raises(SettingsError) as caught:
        raise_problems(check_settings(Outer(mode="warp", count=0)))
    assert caught.value.problems == [
        ("mode", "must be one of fast, slow, got 'warp'"),
        ("count", "must be >= 2, got 0"),
    ]
    assert str(caught.value) == "mode: must be one of fast, slow, got 'warp'; count: must be >= 2, got 0"
    assert isinstance(caught.value, ValueError)


def test_a_table_of_settings_shows_each_default_rule_and_help_from_the_field():
    table = settings_table(Outer, leave_out={"ceiling"})
    assert table[:2] == ["| setting | default | allowed | help |", "| --- | --- | --- | --- |"]
    assert table[2:] == [
        "| `mode` | `fast` | one of fast, slow | How. |",
        "| `count` | `2` | >= 2 | How many. |",
        "| `step` | `0.5` | (0, 1] | A step. |",
        "| `gap` | `0.0` | [0, 1) | A gap. |",
        "| `inner` | `{}` |  | Nested. |",
        "| `inners` | `[]` |  | Nested, several. |",
    ]
    assert settings_table(Inner)[-1] == "| `cap` | `null` | >= 1 | At most this many (unset: no cap). |"


def test_a_nested_default_shows_only_what_differs_from_its_fields_defaults():
    assert as_yaml([Inner(share=0.25), Inner()]) == "[{share: 0.25}, {}]"
    assert as_yaml({"a": [1, None], "b": True}) == "{a: [1, null], b: true}"
