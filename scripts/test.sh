#!/usr/bin/env bash
# Runs the whole test suite (installs what is missing first): lint, format, types (mypy), the
# import contracts between layers (lint-imports, pyproject.toml), then unit and integration
# tests on real Redis, real Asterisk (chroot) and the installed Vosk model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check robot tests scripts docker
.venv/bin/ruff format --check robot tests scripts docker
.venv/bin/mypy robot
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
