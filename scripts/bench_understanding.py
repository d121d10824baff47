#!/usr/bin/env python3
"""Measure the text understanding: model load time and memory, latency per reply.

Usage: python scripts/bench_understanding.py [--lang ru|ko] [FILE.tsv ...]

In a fresh process: resident memory before and after the first reply (pymorphy3's
dictionaries load then), then every reply of the sets understood twice: the first pass
(cold word caches) and the second (warm), each reported as p50 / p99 / max in ms. Prints one
JSON object. Timing is noisy on a shared machine: run it on an idle one for figures to quote.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import time
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pcts(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "p50": round(xs[len(xs) // 2], 3),
        "p99": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 3),
        "max": round(xs[-1], 3),
        "mean": round(statistics.fmean(xs), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", default="ru")
    ap.add_argument("sets", nargs="*", type=Path)
    args = ap.parse_args()
    sets = args.sets or sorted(DATA.glob(f"intents_{args.lang}*.tsv"))
    texts = []
    for path in sets:
        with path.open(encoding="utf-8", newline="") as f:
            texts += [row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=3)]
    rss0 = _rss_mb()
    started = time.perf_counter()
    from robot.core.languages import get_pack

    pack = get_pack(args.lang)
    pack.understand("да", date(2026, 12, 1))
    load_s = time.perf_counter() - started
    rss1 = _rss_mb()
    passes = []
    for _ in range(2):
        ms = []
        for text in texts:
            t = time.perf_counter()
            pack.understand(text, date(2026, 12, 1))
            ms.append((time.perf_counter() - t) * 1000)
        passes.append(_pcts(ms))
    out = {
        "lang": args.lang,
        "replies": len(texts),
        "load_s": round(load_s, 3),
        "rss_before_mb": round(rss0, 1),
        "rss_after_load_mb": round(rss1, 1),
        "cold_ms": passes[0],
        "warm_ms": passes[1],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
