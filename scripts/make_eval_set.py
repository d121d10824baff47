#!/usr/bin/env python3
"""Generate a labeled evaluation set of phone-quality answers for ``robot eval``.

    .venv/bin/python scripts/make_eval_set.py OUT_DIR [--lang ko ru] [--takes 2] [--seed 4]

Each phrase of the labeled text sets (``tests/data/intents_<lang>.tsv`` and
``intents_<lang>_holdout.tsv``: ``text<TAB>label``) is spoken ``--takes`` times, each take
with its own synthesizer, voice, speed, pitch and channel:

- Korean: espeak-ng with voice variants (``ko+f2``, ``ko+m3``...), 120-185 words a minute,
  pitch 25-75. Russian: festival (``voice_msu_ru_nsh_clunits``, with sox tempo and pitch
  shifts) and espeak-ng (``ru`` variants).
- The phone channel: silence before and after (0.2-0.8 s / 0.6-1.2 s), peaks at -9..-1 dBFS,
  8 kHz, band-pass 300-3400 Hz (brick wall or Butterworth), background noise (white, pink,
  brown, babble of other voices) at 30/20/15/10 dB SNR or none, then a G.711 µ-law, A-law or
  GSM 06.10 round trip.
- Items with no answer in them, labeled ``unknown``: line noise, babble, hum, clicks, tones,
  digital silence.

Writes ``OUT_DIR/<lang>-<n>.wav`` (8 kHz mono 16-bit) and ``OUT_DIR/labels.tsv`` with the
columns ``file label lang split text voice channel`` (``robot eval`` needs only the first
two; ``split`` is ``dev`` or ``holdout`` after the text set the phrase came from). The same
seed gives the same set. Needs espeak-ng, sox and (for Russian) festival.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
RATE = 8000
RU_VOICE = "voice_msu_ru_nsh_clunits"
KO_VARIANTS = ("", "f1", "f2", "f3", "f4", "m1", "m2", "m3", "m4", "m6", "klatt", "Alex")
RU_VARIANTS = ("", "f2", "f3", "m1", "m3", "m6", "klatt")
SNRS = (None, 30.0, 20.0, 15.0, 10.0)
NOISES = ("white", "pink", "brown", "babble")
CODECS = ("ulaw", "alaw", "gsm")
# Band-pass 300-3400 Hz three ways: a brick wall (sox's linear-phase sinc, 120 dB stop band),
# and second- and fourth-order Butterworth edges, closer to a real line's gentle roll-off.
BANDPASS = {
    "sinc": ["sinc", "300-3400"],
    "bw2": ["highpass", "300", "lowpass", "3400"],
    "bw4": ["highpass", "300", "highpass", "300", "lowpass", "3400", "lowpass", "3400"],
}
# Unrelated chatter for babble noise, per language.
BABBLE = {
    "ko": (
        "오늘은 시장에 가서 사과를 샀어요",
        "버스가 늦게 와서 회사에 지각했어요",
        "주말에는 가족과 함께 공원에 갑니다",
        "이번 달 전기 요금이 많이 나왔네요",
    ),
    "ru": (
        "вчера мы ходили в кино всей семьёй",
        "автобус опять опоздал на двадцать минут",
        "на выходных поедем на дачу сажать картошку",
        "в магазине закончилось молоко и хлеб",
    ),
}


@dataclass(frozen=True)
class Item:
    name: str
    lang: str
    label: str
    split: str
    text: str  # what is said; "" for the no-speech items
    kind: str  # "speech" or a no-speech kind: noise, babble, hum, clicks, tones, silence


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def read_pcm(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit")
        samples = array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def write_pcm(path: Path, samples: array[int]) -> None:
    out = array("h", samples)
    if sys.byteorder == "big":
        out.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(out.tobytes())


def active_rms(samples: array[int]) -> float:
    """RMS over the 20 ms frames louder than -45 dBFS (the speech, not the pauses)."""
    frames = [samples[i : i + 160] for i in range(0, len(samples) - 159, 160)]
    powers = [sum(x * x for x in f) / 160 for f in frames]
    loud = [p for p in powers if p > (32768 * 10 ** (-45 / 20)) ** 2] or powers or [0.0]
    return math.sqrt(sum(loud) / len(loud))


def mix(speech: array[int], noise: array[int], gain: float, offset: int) -> array[int]:
    out = array("h", bytes(2 * len(speech)))
    n = len(noise)
    for i, s in enumerate(speech):
        v = s + gain * noise[(offset + i) % n]
        out[i] = max(-32768, min(32767, int(v)))
    return out


class Maker:
    def __init__(self, out: Path, seed: int, tmp: Path) -> None:
        self.out = out
        self.seed = seed
        self.tmp = tmp
        self.noise: dict[tuple[str, str], array[int]] = {}

    # --- noise beds -------------------------------------------------------------------------
    def prepare_noise(self, lang: str) -> None:
        for kind in ("white", "pink", "brown"):
            path = self.tmp / f"{kind}.wav"
            if not path.exists():
                run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", str(path),
                     "synth", "30", f"{kind}noise", "sinc", "300-3400", "norm", "-20"])  # fmt: skip
            self.noise[(lang, kind)] = read_pcm(path)
        voices = []
        for i, text in enumerate(BABBLE[lang]):
            raw, wav = self.tmp / f"bab-{lang}-{i}.wav", self.tmp / f"bab-{lang}-{i}-8k.wav"
            variant = ("f2", "m3", "f4", "m1")[i]
            run(["espeak-ng", "-v", f"{lang}+{variant}", "-s", "170", "-w", str(raw), text])
            run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav), "repeat", "6",
                 "trim", "0", "20", "sinc", "300-3400", "norm", "-20"])  # fmt: skip
            voices.append(read_pcm(wav))
        length = min(len(v) for v in voices)
        bed = array("h", (sum(v[j] for v in voices) // 2 for j in range(length)))
        self.noise[(lang, "babble")] = bed

    # --- one item ---------------------------------------------------------------------------
    def make(self, item: Item) -> dict[str, str]:
        rng = random.Random(f"{self.seed}:{item.name}")
        work = self.tmp / item.name
        work.mkdir()
        try:
            if item.kind == "speech":
                voice, clean = self.speak(item, rng, work)
            else:
                voice, clean = item.kind, self.no_speech(item, rng, work)
            channel = self.channel(clean, rng, work, item)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return {
            "file": f"{item.name}.wav",
            "label": item.label,
            "lang": item.lang,
            "split": item.split,
            "text": item.text,
            "voice": voice,
            "channel": channel,
        }

    def speak(self, item: Item, rng: random.Random, work: Path) -> tuple[str, Path]:
        raw = work / "tts.wav"
        effects: list[str] = []
        if item.lang == "ru" and rng.random() < 0.6 and shutil.which("text2wave"):
            src = work / "text.txt"
            src.write_text(item.text + "\n", encoding="utf-8")
            run(["text2wave", "-eval", f"({RU_VOICE})", str(src), "-o", str(raw)])
            tempo = rng.choice((1.0, 1.1, 1.2, 1.3))
            cents = rng.choice((-300, -150, 0, 150, 300))
            effects += ["tempo", "-s", str(tempo)] + (["pitch", str(cents)] if cents else [])
            voice = f"festival t{tempo} p{cents:+d}"
        else:
            variants = KO_VARIANTS if item.lang == "ko" else RU_VARIANTS
            variant = rng.choice(variants)
            name = item.lang + (f"+{variant}" if variant else "")
            speed, pitch = rng.randrange(120, 186, 5), rng.randrange(25, 76, 5)
            run(["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(raw),
                 item.text])  # fmt: skip
            voice = f"espeak-ng {name} s{speed} p{pitch}"
        clean = work / "clean.wav"
        lead, trail = rng.uniform(0.2, 0.8), rng.uniform(0.6, 1.2)
        run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(clean), *effects,
             "pad", f"{lead:.2f}", f"{trail:.2f}"])  # fmt: skip
        return voice, clean

    def no_speech(self, item: Item, rng: random.Random, work: Path) -> Path:
        path = work / "clean.wav"
        dur = f"{rng.uniform(1.5, 3.0):.2f}"
        base = ["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "synth", dur]
        level = f"{rng.uniform(-40, -24):.1f}"
        if item.kind == "noise":
            run([*base, rng.choice(("white", "pink", "brown")) + "noise", "norm", level])
        elif item.kind == "hum":
            run([*base, "sine", "150", "sine", "450", "remix", "-", "norm", level])
        elif item.kind == "tones":  # a ringback or a bit of hold music
            run([*base, "sine", "425", "sine", "660", "remix", "-", "tremolo", "0.5", "90",
                 "norm", level])  # fmt: skip
        elif item.kind == "clicks":  # bumps and rustle: short bursts of noise
            run([*base, "brownnoise", "tremolo", "3", "100", "norm", level])
        elif item.kind == "babble":
            bed = self.noise[(item.lang, "babble")]
            start = rng.randrange(0, len(bed) - 24000)
            n = int(float(dur) * RATE)
            write_pcm(path, array("h", (int(x * 0.5) for x in bed[start : start + n])))
        else:  # silence, with or without a faint line hiss
            run([*base, "whitenoise", "vol", "0.0" if rng.random() < 0.5 else "0.001"])
        return path

    def channel(self, clean: Path, rng: random.Random, work: Path, item: Item) -> str:
        shaped = work / "shaped.wav"
        band = rng.choice(list(BANDPASS))
        effects = list(BANDPASS[band])
        if item.kind == "speech":  # peaks at -9..-1 dBFS: speech at about -28..-14 dBFS RMS
            effects += ["norm", f"{rng.uniform(-9, -1):.1f}"]
        run(["sox", str(clean), str(shaped), *effects])
        samples = read_pcm(shaped)
        parts = [band]
        snr = rng.choice(SNRS) if item.kind == "speech" else None
        if snr is not None:
            kind = rng.choice(NOISES)
            bed = self.noise[(item.lang, kind)]
            bed_rms = math.sqrt(sum(x * x for x in bed[:8000]) / 8000) or 1.0
            gain = active_rms(samples) / bed_rms / (10 ** (snr / 20))
            samples = mix(samples, bed, gain, rng.randrange(len(bed)))
            parts.append(f"{kind}@{snr:.0f}dB")
        noisy = work / "noisy.wav"
        write_pcm(noisy, samples)
        codec = rng.choice(CODECS)
        coded = work / ("coded.gsm" if codec == "gsm" else "coded.wav")
        encoding = {"ulaw": ["-e", "u-law"], "alaw": ["-e", "a-law"], "gsm": []}[codec]
        run(["sox", str(noisy), *encoding, str(coded)])
        run(["sox", str(coded), "-e", "signed", "-b", "16", str(self.out / f"{item.name}.wav")])
        return " ".join([*parts, codec])


def read_phrases(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r["text"], r["label"]) for r in rows]


def speakable(text: str) -> bool:
    """Phrases a synthesizer says as meant: no recognizer tokens, digits or Latin words, and
    not a lone word whose meaning is in its question mark ("네?" is "pardon?", but a
    synthesizer says it as "네")."""
    words = text.split()
    return (
        bool(words)
        and not any(c.isdigit() or c in "[]<>" for c in text)
        and not any("a" <= c.lower() <= "z" for c in text)
        and not (len(words) == 1 and text.rstrip().endswith("?"))
    )


def plan(langs: list[str], takes: int, no_speech: int) -> list[Item]:
    items: list[Item] = []
    for lang in langs:
        n = 0
        for split, name in (
            ("dev", f"intents_{lang}.tsv"),
            ("holdout", f"intents_{lang}_holdout.tsv"),
        ):
            for text, label in read_phrases(DATA / name):
                if not speakable(text):
                    continue
                for _ in range(takes):
                    n += 1
                    items.append(Item(f"{lang}-{n:04d}", lang, label, split, text, "speech"))
        kinds = ("noise", "babble", "hum", "tones", "clicks", "silence")
        for i in range(no_speech):
            n += 1
            kind = kinds[i % len(kinds)]
            items.append(Item(f"{lang}-{n:04d}", lang, "unknown", "dev", "", kind))
    return items


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="directory to write (created; old WAVs are replaced)")
    p.add_argument("--lang", nargs="+", default=["ko", "ru"], choices=("ko", "ru"))
    p.add_argument("--takes", type=int, default=2, help="renditions of each phrase")
    p.add_argument("--no-speech", type=int, default=36, help="no-speech items per language")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--per-label", type=int, help="only N random items per label (a sample)")
    p.add_argument("--jobs", type=int, default=4)
    args = p.parse_args(argv)
    for tool in ("espeak-ng", "sox", *(("text2wave",) if "ru" in args.lang else ())):
        if shutil.which(tool) is None:
            print(f"make_eval_set: {tool} is not installed", file=sys.stderr)
            return 2
    items = plan(args.lang, args.takes, args.no_speech)
    if args.per_label:
        rng = random.Random(args.seed)
        by_label: dict[tuple[str, str], list[Item]] = {}
        for it in items:
            by_label.setdefault((it.lang, it.label), []).append(it)
        picked = [
            it
            for group in by_label.values()
            for it in rng.sample(group, min(args.per_label, len(group)))
        ]
        items = sorted(picked, key=lambda i: i.name)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.wav"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="dozvon-eval-") as tmp:
        maker = Maker(args.out, args.seed, Path(tmp))
        for lang in args.lang:
            maker.prepare_noise(lang)
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(maker.make, items))
    with (args.out / "labels.tsv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(
            f, fieldnames=list(rows[0]), delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"
        )
        writer.writeheader()
        writer.writerows(rows)
    counts: dict[str, int] = {}
    for row in rows:
        counts[f"{row['lang']} {row['label']}"] = counts.get(f"{row['lang']} {row['label']}", 0) + 1
    print(
        f"wrote {len(rows)} items to {args.out}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
