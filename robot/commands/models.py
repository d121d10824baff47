"""``robot models list`` and ``robot models fetch ru [--sha256 HEX] [--url URL]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from robot.adapters.asr_models import REGISTRY

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", type=Path, help="instead of the configured models_dir")
    p = sub.add_parser("models", help="speech models: what is installed, fetch missing ones")
    msub = p.add_subparsers(dest="models_command", required=True)
    lp = msub.add_parser("list", parents=[common], help="each language's model and where it is")
    lp.add_argument("--json", action="store_true", help="one JSON object per language")
    fp = msub.add_parser(
        "fetch", parents=[common], help="download, verify and unpack a language's model"
    )
    fp.add_argument("language", choices=sorted(lang for lang, m in REGISTRY.items() if m.url))
    fp.add_argument("--sha256", help="expected SHA-256 of the archive (replaces the pinned one)")
    fp.add_argument("--url", help="download from this mirror (still verified by checksum)")
    fp.add_argument("--force", action="store_true", help="replace an installed model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.adapters.asr_models import ModelError, fetch, model_overrides, status
    from robot.config import load_settings

    settings = load_settings(**({"models_dir": args.models_dir} if args.models_dir else {}))
    if args.models_command == "list":
        rows = status(settings.models_dir, model_overrides(settings))
        for row in rows:
            if args.json:
                print(json.dumps(row, ensure_ascii=False))
                continue
            state = "installed    " if row["installed"] == "yes" else "not installed"
            where = f"({row['source']}) {row['path']}" if row["path"] else row["hint"]
            print(f"{row['language']}  {state}  {row['model']}  {where}")
        return 0
    try:
        info = fetch(
            args.language, settings.models_dir, sha256=args.sha256, url=args.url, force=args.force
        )
    except ModelError as e:
        print(f"robot models fetch: {e}", file=sys.stderr)
        return 1
    print(f"{info.language}  installed  {info.name}  ({info.source.value}) {info.path}")
    return 0
