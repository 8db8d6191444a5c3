#!/usr/bin/env bash
# Create .venv and install wm with every extra and the test tools.
# Where no NVIDIA GPU is present, the CPU build of torch is installed (a plain `torch`
# requirement would pull the multi-GB CUDA build): from a local wheel/index when one is
# configured for pip, otherwise from PyTorch's CPU index (override with WM_TORCH_INDEX).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${WM_TORCH_VERSION:-2.13.0}"
if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
pip() { .venv/bin/python -m pip "$@"; }

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        pip install "torch==${TORCH_VERSION}"
    elif pip install --no-deps --no-index "torch==${TORCH_VERSION}" 2>/dev/null; then
        pip install "torch==${TORCH_VERSION}"  # a local wheel was found; now its dependencies
    else
        pip install "torch==${TORCH_VERSION}" --index-url "${WM_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
    fi
fi
pip install -e ".[all,dev]"
