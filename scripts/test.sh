#!/usr/bin/env bash
# Runs the whole test suite (installs what is missing first): lint, unit and integration tests
# on real Redis, real Asterisk (chroot) and the installed Vosk model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check robot tests scripts docker
exec .venv/bin/python -m pytest "$@"
