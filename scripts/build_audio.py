#!/usr/bin/env python3
"""Regenerate the prompt clips and the simulated customer's answers.

    .venv/bin/python scripts/build_audio.py [--lang ru ko] [--force] [--verify]

1. Writes ``audio/prompts/<lang>.tsv`` (key<TAB>text) from ``robot.core.prompts.clip_texts``:
   the recording script of every clip the planner can ask for, and
   ``audio/prompts/<lang>.purposes.tsv`` from ``robot.core.purpose_prompts.purpose_clip_texts``:
   the built-in purposes' own wording (``robot/core/purpose_files``).
2. Synthesizes every clip of the TSV to ``audio/<key>.wav`` (8 kHz mono 16-bit, trimmed,
   inner pauses shortened, loudness normalized): Russian with festival
   (``voice_msu_ru_nsh_clunits``), espeak-ng if festival fails (reported); Korean with
   espeak-ng. Clips whose text and settings have not changed since the last run (see
   ``audio/manifest.json``) are skipped; clips no longer in the TSV are deleted.
3. Makes the simulated customer's answers ``audio/customer/<lang>/<name>.wav`` (yes, no,
   other, and the replies beyond them: change, address, question, wrong_number, not_ordered,
   voicemail, assistant).
4. ``--verify``: runs the Korean customer answers through the Korean Vosk model with the
   grammar a call listens with and checks that yes/no come out as yes/no, "other" as neither,
   and the demo's change, wrong number and voicemail as those intents.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from robot.adapters.prompt_audio import read_wav, silence, synthesize, write_wav  # noqa: E402
from robot.core.prompts import clip_texts  # noqa: E402
from robot.core.purpose_prompts import purpose_clip_texts  # noqa: E402

# Bump when synthesis or post-processing changes, to rebuild every clip.
SETTINGS = "v2 festival msu_ru_nsh tempo1.25; espeak-ng ko s150; 8k trim clamp300 rms-18"
# The customer's answers: espeak-ng settings the Korean model hears reliably (scripts/
# build_audio.py --verify), and silence around them as on a line that was quiet before.
CUSTOMER_SPEED, CUSTOMER_PITCH = 145, 50
CUSTOMER_PAD_MS = 250
LANGS = ("ru", "ko")
CUSTOMER = {
    "ru": {
        "yes": "да, подтверждаю",
        "no": "нет, не надо",
        "other": "а какая сегодня погода",
        # Replies beyond yes and no (dialplans/extensions.conf scenarios 16-22).
        "change": "перенесите, пожалуйста, доставку на воскресенье, после восьми вечера",
        "address": "а можно привезти по другому адресу, к маме",
        "question": "а когда привезут",
        "wrong_number": "вы ошиблись номером, здесь такого нет",
        "not_ordered": "я ничего не заказывал",
        "voicemail": "здравствуйте, вы позвонили Ивану, оставьте сообщение после сигнала",
        "assistant": "здравствуйте, я виртуальный помощник, скажите, по какому вы вопросу",
    },
    "ko": {
        "yes": "네",
        "no": "아니요",
        "other": "오늘 날씨 어때요",
        "change": "일요일 저녁 여덟 시 이후에 배송해 주세요",
        "address": "주소를 바꾸고 싶어요",
        "question": "언제 배송돼요",
        "wrong_number": "전화 잘못 거셨어요",
        "not_ordered": "저는 주문한 적이 없어요",
        "voicemail": "지금은 전화를 받을 수 없습니다. 삐 소리 후에 메시지를 남겨 주세요",
        "assistant": "안녕하세요, 저는 인공지능 비서입니다. 용건을 말씀해 주세요",
    },
}


def write_tsv(audio_dir: Path, lang: str, *, purposes: bool = False) -> dict[str, str]:
    """``purposes``: the built-in purposes' own wording (``<lang>.purposes.tsv``)."""
    texts = purpose_clip_texts(lang) if purposes else clip_texts(lang)
    path = audio_dir / "prompts" / f"{lang}{'.purposes' if purposes else ''}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{key}\t{text}\n" for key, text in texts.items())
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)} ({len(texts)} clips)")
    return read_tsv(path)


def read_tsv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise SystemExit(f"{path}:{n}: expected key<TAB>text")
        out[key.strip()] = text.strip()
    return out


def digest(key: str, lang: str, text: str) -> str:
    settings = SETTINGS
    if key.startswith("customer/"):
        settings += f"; customer espeak s{CUSTOMER_SPEED} p{CUSTOMER_PITCH} pad {CUSTOMER_PAD_MS}"
    return hashlib.sha256(f"{settings}\n{lang}\n{text}".encode()).hexdigest()


def build(audio_dir: Path, jobs: dict[str, tuple[str, str]], force: bool, workers: int) -> None:
    """``jobs``: key -> (lang, text). Synthesizes what changed, updates the manifest."""
    manifest_path = audio_dir / "manifest.json"
    manifest: dict[str, dict[str, str]] = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    todo = {
        key: (lang, text)
        for key, (lang, text) in jobs.items()
        if force
        or manifest.get(key, {}).get("sha256") != digest(key, lang, text)
        or not (audio_dir / f"{key}.wav").exists()
    }
    print(f"{len(jobs)} clips, {len(todo)} to synthesize, {len(jobs) - len(todo)} unchanged")

    def one(item: tuple[str, tuple[str, str]]) -> tuple[str, str]:
        key, (lang, text) = item
        if key.startswith("customer/"):
            pcm, engine = synthesize(
                text, lang, espeak_speed=CUSTOMER_SPEED, espeak_pitch=CUSTOMER_PITCH
            )
            pad = silence(CUSTOMER_PAD_MS)
            pcm = pad + pcm + pad
        else:
            pcm, engine = synthesize(text, lang)
        write_wav(audio_dir / f"{key}.wav", pcm)
        return key, engine

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for key, engine in pool.map(one, todo.items()):
            lang, text = jobs[key]
            manifest[key] = {"sha256": digest(key, lang, text), "engine": engine, "text": text}
            if lang == "ru" and engine != "festival":
                print(f"  {key}: festival failed, used {engine}")
    langs = {lang for lang, _ in jobs.values()}
    for key in sorted(set(manifest) - set(jobs)):
        parts = key.split("/")
        if (parts[1] if parts[0] == "customer" else parts[0]) in langs:
            (audio_dir / f"{key}.wav").unlink(missing_ok=True)
            del manifest[key]
            print(f"  removed stale {key}")
    manifest_path.write_text(
        json.dumps(dict(sorted(manifest.items())), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    engines: dict[str, int] = {}
    for entry in manifest.values():
        engines[entry["engine"]] = engines.get(entry["engine"], 0) + 1
    print("engines:", ", ".join(f"{e} {n}" for e, n in sorted(engines.items())))


def verify_korean(audio_dir: Path) -> bool:
    """Korean customer answers through Vosk with the ko grammar, as the robot hears them."""
    import vosk

    from robot.adapters.asr_models import REGISTRY, resolve
    from robot.adapters.vosk_asr import listening_phrases, prepare_grammar, to_result
    from robot.core.languages import get_pack

    vosk.SetLogLevel(-1)
    pack = get_pack("ko")
    info = resolve("ko", REPO / "models")
    model = vosk.Model(str(info.path))
    grammar = prepare_grammar(model, listening_phrases("ko"), REGISTRY["ko"].unk_fillers)
    ok = True
    expected = {
        "yes": {"yes"},
        "no": {"no"},
        "other": {"unknown", "repeat", "later"},
        "change": {"change"},
        "wrong_number": {"wrong_number"},
        "voicemail": {"machine"},
        "address": {"change"},
        "question": {"question"},
        "not_ordered": {"not_ordered"},
        "assistant": {"machine"},
    }
    for name, want in expected.items():
        pcm = read_wav(audio_dir / "customer" / "ko" / f"{name}.wav")
        rec = vosk.KaldiRecognizer(model, 8000, grammar.json())
        rec.SetWords(True)
        rec.AcceptWaveform(pcm + b"\x00\x00" * 8000)
        result = to_result(json.loads(rec.FinalResult()), grammar.fillers)
        text = result.text
        intent = pack.classify(text).value
        good = intent in want
        ok &= good
        print(f"  ko/{name}: heard {text!r} -> {intent} {'ok' if good else 'WRONG'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", nargs="+", choices=LANGS, default=list(LANGS))
    parser.add_argument("--audio-dir", type=Path, default=REPO / "audio")
    parser.add_argument("--force", action="store_true", help="rebuild every clip")
    parser.add_argument("--jobs", type=int, default=8, help="parallel synthesizers")
    parser.add_argument("--verify", action="store_true", help="check ko answers with Vosk")
    args = parser.parse_args(argv)
    audio_dir: Path = args.audio_dir
    jobs: dict[str, tuple[str, str]] = {}
    for lang in args.lang:
        jobs.update({key: (lang, text) for key, text in write_tsv(audio_dir, lang).items()})
        purposes = write_tsv(audio_dir, lang, purposes=True)
        jobs.update({key: (lang, text) for key, text in purposes.items()})
        for name, text in CUSTOMER[lang].items():
            jobs[f"customer/{lang}/{name}"] = (lang, text)
    build(audio_dir, jobs, args.force, args.jobs)
    wavs = list(audio_dir.rglob("*.wav"))
    size = sum(p.stat().st_size for p in wavs)
    print(f"{len(wavs)} WAV files, {size / 1e6:.1f} MB under {audio_dir}")
    if args.verify and "ko" in args.lang and not verify_korean(audio_dir):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
