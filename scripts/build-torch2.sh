#!/usr/bin/env bash
# Configures and builds elab against the libtorch 2.x inside .venv's torch wheel
# (scripts/python-torch.txt): `make test-torch2`. Usage: build-torch2.sh BUILD_DIR [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-torch2}
jobs=${2:-$(nproc)}
torch_dir=$(.venv/bin/python -c "import os, torch; print(os.path.dirname(torch.__file__))")
# Both prefixes: share/cmake holds TorchConfig.cmake, and the torch directory itself makes
# its lib/ come before Debian's /usr/lib libtorch when TorchConfig looks for libraries.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir"
cmake --build "$build" -j"$jobs"
version=$(.venv/bin/python -c "import torch; print(torch.__version__)")
echo "build-torch2: $build built against libtorch $version ($torch_dir)"
