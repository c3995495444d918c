#!/usr/bin/env bash
# Install what the tests need and run them. Usage: bash scripts/test.sh [pytest args]
# Creates and uses .venv unless a virtual environment is already active. Installs Debian's
# chromium (for the browser test) when it is missing and we may use apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${VIRTUAL_ENV:-}" ]]; then
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
# Debian packages: chromium (browser test) and a C compiler (libsvm-official, a dependency of
# visqol-python, is published as source only).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if (( ${#missing[@]} )); then
  if [[ $(id -u) == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "cannot install ${missing[*]}: the browser test will be skipped if chromium is missing" >&2
  fi
fi
python -m pip install -q -e '.[test]'
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec python -m pytest "$@"
