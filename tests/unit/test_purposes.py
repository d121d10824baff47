"""Call purposes as data (robot.core.purposes): the built-in files, a shop's files that add or
reword one, the errors that name the file, purpose and key, and a purpose's policy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from robot.core.models import Intent, Outcome
from robot.core.policy_config import PolicyConfig, RetryOutcome
from robot.core.prompts import Prompt
from robot.core.purposes import (
    PurposeError,
    UnknownPurpose,
    build,
    builtin_purposes,
    load_purposes,
    purpose_for,
)
from robot.testing import make_order

TODAY = date(2026, 12, 1)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_are_the_four_purposes_of_the_issue() -> None:
    purposes = builtin_purposes()
    assert {"confirm", "pickup_ready", "courier_slot", "storage_ending"} <= set(purposes)
    assert purposes["confirm"].kind == "confirm" and purposes["confirm"].say == {}
    assert purposes["pickup_ready"].kind == purposes["storage_ending"].kind == "inform"
    assert purposes["courier_slot"].answer(Intent.CHANGE) == "change"
    assert purposes["pickup_ready"].answer(Intent.YES) == Outcome.INFORMED.value
    for name in ("pickup_ready", "courier_slot", "storage_ending"):
        for lang in ("ru", "ko"):  # every built-in purpose speaks both languages
            assert purposes[name].wording(Prompt.INTRO, lang) is not None, (name, lang)


def test_confirm_keeps_todays_keys_and_answers() -> None:
    confirm = builtin_purposes()["confirm"]
    assert confirm.keys == {"1": Intent.YES, "2": Intent.NO, "0": Intent.OPERATOR, "9": Intent.DNC}
    assert confirm.answer(Intent.YES) == "confirmed" and confirm.answer(Intent.NO) == "rejected"
    assert confirm.answer(Intent.QUESTION) == "question"
    assert confirm.answer(Intent.UNKNOWN) is None


def test_a_shop_adds_a_purpose_in_json(tmp_path: Path) -> None:
    doc = {
        "name": "packed",
        "kind": "inform",
        "say": {"intro": {"ru": ["{greeting}", "Ваш заказ {order_id} собран."]}},
        "answers": {"yes": "informed", "repeat": "repeat"},
        "keys": {"1": "yes"},
    }
    purposes = load_purposes([write(tmp_path, "shop.json", json.dumps(doc))])
    assert purposes["packed"].wording(Prompt.INTRO, "ru") == (
        Prompt.INTRO,
        ["{greeting}", "Ваш заказ {order_id} собран."],
    )
    assert "confirm" in purposes  # the built-in ones stay


def test_a_shop_rewords_one_prompt_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "shop.yaml",
        "name: pickup_ready\n"
        "say:\n  intro:\n    ru: ['{greeting}', 'Заказ {order_id} можно забрать.']\n",
    )
    mine = load_purposes([path])["pickup_ready"]
    builtin = builtin_purposes()["pickup_ready"]
    assert mine.wording(Prompt.INTRO, "ru") == (
        Prompt.INTRO,
        ["{greeting}", "Заказ {order_id} можно забрать."],
    )
    assert mine.wording(Prompt.INTRO, "ko") == builtin.wording(Prompt.INTRO, "ko")
    assert mine.answers == builtin.answers and mine.kind == "inform"


def test_several_purposes_in_one_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "two.yaml",
        "purposes:\n"
        "  - {name: a_one, kind: confirm, answers: {'yes': confirmed}}\n"
        "  - {name: b_two, kind: confirm, answers: {'no': rejected}}\n",
    )
    assert {"a_one", "b_two"} <= set(load_purposes([path]))


def test_yaml_yes_and_no_keys_need_no_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "name: plain\nkind: confirm\nanswers: {yes: confirmed, no: rejected}\n"
    )
    plain = load_purposes([path])["plain"]
    assert plain.answer(Intent.YES) == "confirmed" and plain.answer(Intent.NO) == "rejected"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: [hi]}}\nwording: {}\n",
         "x.wording", "unknown key"),
        ("name: x\nkind: confirm\nanswers: {'yes': happy}\n", "x.answers", "happy"),
        ("name: x\nkind: confirm\nanswers: {maybe: confirmed}\n", "x.answers.maybe", ""),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['{adress}']}}\n",
         "x.say", "unknown field {adress}"),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {fr: [salut]}}\n",
         "x.say", "fr: unknown language"),
        ("name: x\nkind: inform\nanswers: {}\n", "x", "say.intro"),
        ("name: x\nkind: confirm\nanswers: {}\nkeys: {'12': 'yes'}\n", "x.keys", "'12'"),
        ("name: x\nkind: confirm\nanswers: {}\nhours: '9-21'\n", "x", "hours"),
        ("name: x\nkind: confirm\nanswers: {}\nretry: {sometimes: {delays: [1m]}}\n", "x", ""),
        ("name: X-1\nkind: confirm\nanswers: {}\n", "X-1.name", "purpose name"),
        ("kind: confirm\nanswers: {}\n", "name", "is required"),
        ("name: x\nanswers: {}\n", "x.kind", "is required"),
        ("name: x\nkind: confirm\nanswers: {machine: confirmed}\n", "x.answers", "machine"),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['a [b] c']}}\n",
         "x.say", "must hold a field"),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['a [{order_id} c']}}\n",
         "x.say", "bracket without its pair"),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['[a [{order_id}]]']}}\n",
         "x.say", "do not nest"),
        ("name: x\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['a {order_id']}}\n",
         "x.say", "brace without its pair"),
    ],
)  # fmt: skip
def test_bad_files_name_the_file_purpose_and_key(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(PurposeError) as e:
        load_purposes([path])
    assert str(e.value).startswith(f"{path}"), e.value
    assert where in e.value.where and message in e.value.message, str(e.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(PurposeError, match="cannot read"):
        load_purposes([tmp_path / "missing.yaml"])
    with pytest.raises(PurposeError, match="not valid JSON or YAML"):
        load_purposes([write(tmp_path, "broken.json", "{")])
    with pytest.raises(PurposeError, match="defined twice"):
        load_purposes([write(tmp_path, "dup.yaml", "purposes: [{name: confirm}, {name: confirm}]")])


def test_purpose_for_the_order_and_an_unknown_one() -> None:
    assert purpose_for(make_order("ru", TODAY)).name == "confirm"
    assert purpose_for(make_order("ru", TODAY, purpose="courier_slot")).name == "courier_slot"
    with pytest.raises(UnknownPurpose, match="no_such"):
        purpose_for(make_order("ru", TODAY, purpose="no_such"))


def test_a_purpose_without_policy_keys_leaves_the_policy_alone() -> None:
    base = PolicyConfig.model_validate({"hours": "09:00-21:00", "max_attempts": 4})
    assert builtin_purposes()["confirm"].policy(base) is base


def test_a_purposes_hours_attempts_and_retry_rules_apply_to_its_calls() -> None:
    base = PolicyConfig.model_validate(
        {"hours": "09:00-21:00", "weekdays": {"sat": "10:00-18:00"}, "max_attempts": 5,
         "holidays": ["2026-12-31"]}
    )  # fmt: skip
    purpose = build(
        {"name": "late", "kind": "confirm", "answers": {}, "hours": "12:00-20:00",
         "max_attempts": 2, "retry": {"no_answer": {"delays": ["3h"]}}}
    )  # fmt: skip
    policy = purpose.policy(base)
    assert str(policy.hours) == "12:00–20:00" and policy.weekdays == {}
    assert policy.max_attempts == 2 and policy.holidays == base.holidays
    assert policy.retry[RetryOutcome.NO_ANSWER].delays == [timedelta(hours=3)]
    assert policy.retry[RetryOutcome.BUSY] == base.retry[RetryOutcome.BUSY]  # not given: kept


def test_builtin_retry_rules_replace_only_their_outcomes() -> None:
    base = PolicyConfig()
    policy = builtin_purposes()["storage_ending"].policy(base)
    assert policy.retry[RetryOutcome.NO_ANSWER].delays[0] == timedelta(minutes=30)
    assert policy.retry[RetryOutcome.UNCLEAR] == base.retry[RetryOutcome.UNCLEAR]
    assert policy.hours == base.hours and policy.max_attempts == base.max_attempts


def test_the_day_a_purpose_is_about_is_on_the_customers_calendar() -> None:
    # 22:30 UTC on the 2nd is already the 3rd in Moscow.
    slot = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)
    o = make_order("ru", TODAY, purpose="courier_slot", slot_from=slot, timezone="Europe/Moscow")
    assert builtin_purposes()["courier_slot"].day_of(o) == date(2026, 12, 3)
    kept = make_order("ru", TODAY, storage_until=date(2026, 12, 12))
    assert builtin_purposes()["pickup_ready"].day_of(kept) == date(2026, 12, 12)
    assert builtin_purposes()["confirm"].day_of(kept) == kept.delivery_date


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_readme_lists_the_default_status_map() -> None:
    from robot.core.shops import DEFAULT_STATUSES

    section = _readme_section("Call purposes")
    table = section[section.index("| CRM status | action |") :].split("\n\n")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    listed = {status.strip().strip("`"): action.strip().strip("`") for status, action in rows}
    assert listed == DEFAULT_STATUSES


def test_readme_purpose_file_example_is_valid(tmp_path: Path) -> None:
    section = _readme_section("Call purposes")
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    purposes = load_purposes([write(tmp_path, "shop.yaml", example)])
    assert purposes["packed"].kind == "inform"
    assert purposes["pickup_ready"].wording(Prompt.INTRO, "ko") == builtin_purposes()[
        "pickup_ready"
    ].wording(Prompt.INTRO, "ko")
