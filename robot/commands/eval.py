"""``robot eval DIR``: a labeled set of answers through the live recognition path, scored.

``DIR/labels.tsv`` is tab-separated with a header; the columns ``file`` (a WAV path relative to
DIR, or absolute) and ``label`` (an intent: yes, no, dnc, operator, repeat, later, unknown) are
required; an optional ``lang`` column picks the language per file (else ``--lang``, else the
only installed model's language). Every file goes through ``robot recognize``'s code
(:func:`robot.commands.recognize.recognize_pcm`: 20 ms frames, VAD gate, grammar, trust
rules, first answer decides), which is what a live call runs.

``robot eval --text FILE.tsv --lang ru`` scores the text understanding instead (columns ``text``
and ``label``), the same way ``robot intent`` understands. When the set also has the columns
``date``, ``after``, ``before``, ``address`` (and optionally ``today``, else ``--today``), every
item labelled ``change`` is also checked for the day, time window and address understood
(``change_exact``: the share of change items read as change with all four fields right).

Printed: accuracy, the false-yes rate (the share of items not labeled yes that came out yes:
the expensive mistake), recall and precision per intent, the confusion matrix, the decode
time per file and the time from the end of speech to the decision (audio time, as a live
call would see it, plus the compute of the step that decided). ``--json``: one JSON object.
Exit code 0 when every file was scored, 1 when some could not be read, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from robot.core.models import Intent

LABELS = tuple(i.value for i in Intent)


class LabelsError(ValueError):
    """labels.tsv is missing, has no usable header or names an unknown intent."""


@dataclass(frozen=True)
class Item:
    key: str  # the file or the text
    label: str
    lang: str | None = None
    # For change items of a text set: today, and the expected date/after/before/address.
    change: dict[str, str] | None = None


@dataclass
class Scored:
    item: Item
    predicted: str
    text: str = ""
    ms: float | None = None
    decision_ms: float | None = None
    change: dict[str, str] | None = None  # what was understood for a change

    @property
    def change_exact(self) -> bool:
        return self.predicted == "change" and self.change == _expected(self.item)


@dataclass
class Report:
    scored: list[Scored] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)

    def summary(self) -> dict[str, Any]:
        n = len(self.scored)
        confusion = {a: dict.fromkeys(LABELS, 0) for a in LABELS}
        for s in self.scored:
            confusion[s.item.label][s.predicted] += 1
        correct = sum(confusion[a][a] for a in LABELS)
        non_yes = n - sum(confusion["yes"].values())
        false_yes = sum(confusion[a]["yes"] for a in LABELS if a != "yes")
        per_intent = {}
        for a in LABELS:
            total = sum(confusion[a].values())
            said = sum(confusion[b][a] for b in LABELS)
            per_intent[a] = {
                "n": total,
                "recall": _ratio(confusion[a][a], total),
                "precision": _ratio(confusion[a][a], said),
            }
        return {
            "n": n,
            "accuracy": _ratio(correct, n),
            "correct": correct,
            "false_yes_rate": _ratio(false_yes, non_yes),
            "false_yes": false_yes,
            "non_yes": non_yes,
            "per_intent": per_intent,
            "confusion": confusion,
            "decode_ms": _stats([s.ms for s in self.scored]),
            "decision_ms": _stats([s.decision_ms for s in self.scored]),
            "failed": len(self.failed),
            **self._change_summary(),
        }

    def _change_summary(self) -> dict[str, Any]:
        checked = [s for s in self.scored if s.item.label == "change" and s.item.change]
        if not checked:
            return {}
        exact = sum(s.change_exact for s in checked)
        return {"change_checked": len(checked), "change_exact": _ratio(exact, len(checked))}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _stats(values: list[float | None]) -> dict[str, float | int] | None:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None

    def pct(p: float) -> float:
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 1)

    return {
        "n": len(xs),
        "mean": round(statistics.fmean(xs), 1),
        "p50": pct(0.5),
        "p95": pct(0.95),
        "max": round(xs[-1], 1),
    }


def read_labels(path: Path, key: str) -> list[Item]:
    """Rows of a labeled TSV: ``key`` (file or text) and label, optional lang."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            fields = reader.fieldnames or []
            if key not in fields or "label" not in fields:
                raise LabelsError(f"{path}: needs a header with columns {key!r} and 'label'")
            items = []
            for n, row in enumerate(reader, 2):
                label = (row.get("label") or "").strip().lower()
                if label not in LABELS:
                    raise LabelsError(f"{path}:{n}: label {label!r} is not one of {LABELS}")
                lang = (row.get("lang") or "").strip() or None
                change = None
                if label == "change" and _CHANGE_COLUMNS <= set(fields):
                    change = {c: (row.get(c) or "").strip() for c in ("today", *_CHANGE_COLUMNS)}
                items.append(Item((row.get(key) or "").strip(), label, lang, change))
            return items
    except OSError as e:
        raise LabelsError(f"{path}: {e}") from None


_CHANGE_COLUMNS = frozenset({"date", "after", "before", "address"})


def _expected(item: Item) -> dict[str, str] | None:
    if item.change is None:
        return None
    want = {c: item.change[c] for c in ("date", "after", "before")}
    want["address"] = "1" if item.change["address"].lower() in ("1", "true", "yes") else "0"
    return want


def _understood(change: dict[str, object]) -> dict[str, str]:
    out = {c: str(change[c] or "") for c in ("date", "after", "before")}
    out["address"] = "1" if change["address"] else "0"
    return out


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="score a labeled set of WAV files (or texts) by intent")
    p.add_argument("dir", type=Path, nargs="?", help="directory with labels.tsv and the WAVs")
    p.add_argument("--lang", help="language when labels.tsv has no lang column (ru, ko)")
    p.add_argument("--text", type=Path, help="score a text set (columns text, label) instead")
    p.add_argument("--today", help="the date change items are resolved against (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    p.add_argument("--details", action="store_true", help="also list every misrecognized item")
    p.add_argument("--free", action="store_true", help="decode without the answer grammar")
    p.add_argument("--models-dir", type=Path, help="instead of the configured models_dir")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.text is not None:
            report, title = _eval_text(args), f"{args.text} (text, {args.lang or 'ru'})"
        elif args.dir is not None:
            report, title = _eval_audio(args)
        else:
            raise LabelsError("give a directory with labels.tsv, or --text FILE.tsv")
    except LabelsError as e:
        print(f"robot eval: {e}", file=sys.stderr)
        return 2
    summary = report.summary()
    if args.json:
        out = {"set": title, **summary}
        if args.details:
            out["errors"] = [
                _row(s)
                for s in report.scored
                if s.predicted != s.item.label or (s.item.change and not s.change_exact)
            ]
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(render(title, summary))
        if args.details:
            for s in report.scored:
                if s.predicted != s.item.label:
                    print(f"  {s.item.label:>8} -> {s.predicted:<8} {s.item.key}  {s.text}")
                elif s.item.change and not s.change_exact:
                    print(f"  change fields {s.change} != {_expected(s.item)}  {s.item.key}")
    for file, why in report.failed:
        print(f"robot eval: {file}: {why}", file=sys.stderr)
    return 1 if report.failed else 0


def _row(s: Scored) -> dict[str, Any]:
    row: dict[str, Any] = {
        "item": s.item.key,
        "label": s.item.label,
        "intent": s.predicted,
        "text": s.text,
    }
    if s.item.change:
        row["expected_change"] = _expected(s.item)
        row["change"] = s.change
    return row


def _eval_text(args: argparse.Namespace) -> Report:
    from robot.core.languages import get_pack

    items = read_labels(args.text, "text")
    try:
        default_today = date.fromisoformat(args.today) if args.today else None
    except ValueError:
        raise LabelsError(f"--today {args.today!r} is not YYYY-MM-DD") from None
    report = Report()
    for item in items:
        pack = get_pack(item.lang or args.lang or "ru")
        today = default_today
        if item.change and item.change.get("today"):
            today = date.fromisoformat(item.change["today"])
        started = time.perf_counter()
        reply = pack.understand(item.key, today)
        ms = (time.perf_counter() - started) * 1000
        change = _understood(reply.change.as_json()) if reply.change else None
        report.scored.append(Scored(item, reply.intent.value, item.key, ms, change=change))
    return report


def _eval_audio(args: argparse.Namespace) -> tuple[Report, str]:
    from robot.adapters.asr_models import ModelError
    from robot.adapters.vosk_asr import VoskRecognizer
    from robot.commands.recognize import AudioClock
    from robot.config import load_settings

    items = read_labels(args.dir / "labels.tsv", "file")
    settings = load_settings(**({"models_dir": args.models_dir} if args.models_dir else {}))
    clock = AudioClock()
    wanted = sorted({i.lang for i in items if i.lang} or ({args.lang} if args.lang else set()))
    try:
        recognizer = VoskRecognizer.from_settings(
            settings.asr, languages=wanted or None, clock=clock
        )
    except (ModelError, KeyError) as e:
        raise LabelsError(str(e)) from None
    if not wanted:
        if len(recognizer.languages()) != 1:
            raise LabelsError(
                "say which language the set is in (--lang or a lang column); installed models: "
                + (", ".join(recognizer.languages()) or "none")
            )
        wanted = list(recognizer.languages())
    recognizer.preload()
    names = ", ".join(f"{lang} ({recognizer.model_info(lang).name})" for lang in wanted)
    try:
        report = asyncio.run(_score_files(recognizer, args, items, wanted[0], clock))
    finally:
        recognizer.close()
    return report, f"{args.dir}: {names}" + (", free dictation" if args.free else "")


async def _score_files(
    recognizer: Any, args: argparse.Namespace, items: list[Item], default: str, clock: Any
) -> Report:
    from robot.commands.recognize import WavError, read_wav, recognize_pcm, to_call_audio
    from robot.core.languages import get_pack

    report = Report()
    for item in items:
        path = Path(item.key) if Path(item.key).is_absolute() else args.dir / item.key
        try:
            pcm = to_call_audio(read_wav(path))
        except (OSError, WavError, ValueError) as e:
            report.failed.append((str(path), str(e)))
            continue
        pack = get_pack(item.lang or default)
        heard = await recognize_pcm(recognizer, pack, pcm, clock, free=args.free)
        report.scored.append(
            Scored(item, heard.intent.value, heard.text, heard.ms, heard.decision_ms)
        )
    return report


def render(title: str, s: dict[str, Any]) -> str:
    """The summary as plain-text tables."""

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.1f}%"

    lines = [
        f"set: {title}",
        f"items: {s['n']}" + (f" ({s['failed']} unreadable)" if s["failed"] else ""),
        f"accuracy: {pct(s['accuracy'])} ({s['correct']}/{s['n']})",
        f"false-yes rate: {pct(s['false_yes_rate'])} ({s['false_yes']}/{s['non_yes']} "
        "items not labeled yes came out yes)",
        "",
        f"{'intent':<13}{'n':>5}{'recall':>9}{'precision':>11}",
    ]
    for a, r in s["per_intent"].items():
        lines.append(f"{a:<13}{r['n']:>5}{pct(r['recall']):>9}{pct(r['precision']):>11}")
    lines += ["", "confusion (rows: label, columns: recognized)"]
    short = [a[:7] for a in LABELS]
    lines.append(f"{'':<13}" + "".join(f"{h:>8}" for h in short))
    for a in LABELS:
        lines.append(f"{a:<13}" + "".join(f"{s['confusion'][a][b]:>8}" for b in LABELS))
    if s.get("change_checked"):
        lines.append(
            f"change requests with day, time and address all right: {pct(s['change_exact'])}"
            f" (of {s['change_checked']})"
        )
    for key, name in (("decode_ms", "decode ms"), ("decision_ms", "end of speech -> decision ms")):
        st = s[key]
        if st:
            lines.append(
                f"{name}: mean {st['mean']}, p50 {st['p50']}, p95 {st['p95']}, max {st['max']}"
                f" (n={st['n']})"
            )
    return "\n".join(lines)
