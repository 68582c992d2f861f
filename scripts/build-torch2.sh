#!/usr/bin/env bash
# Configures and builds elab's engine tests against the libtorch 2.x inside .venv's torch
# wheel (scripts/python-torch.txt): `make test-torch2`. Only the test binaries of the
# modules whose code differs between libtorch versions are built there (model: fused
# attention; train: c10d backends), with the libraries they link; the whole suite runs
# on the default build. Usage: build-torch2.sh BUILD_DIR [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-torch2}
jobs=${2:-$(nproc)}
tests="model_test;train_test"
torch_dir=$(.venv/bin/python -c "import os, torch; print(os.path.dirname(torch.__file__))")
# Both prefixes: share/cmake holds TorchConfig.cmake, and the torch directory itself makes
# its lib/ come before Debian's /usr/lib libtorch when TorchConfig looks for libraries.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir" \
  "-DELAB_TEST_BINARIES=$tests"
cmake --build "$build" -j"$jobs" --target ${tests//;/ }
version=$(.venv/bin/python -c "import torch; print(torch.__version__)")
echo "build-torch2: $build: ${tests//;/ } built against libtorch $version ($torch_dir)"
