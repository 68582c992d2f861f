#!/usr/bin/env bash
# Installs, idempotently, the Debian packages elab needs. Usage: install-deps.sh [run|all]
#   run  what building elab needs (`make run`)
#   all  also what only the tests need (`make test`, the default)
# Only missing packages are installed; a machine that has them all is left untouched.
set -euo pipefail
set_name=${1:-all}
case "$set_name" in
  run|all) ;;
  *) echo "install-deps: unknown set '$set_name' (run or all)" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev          # tensors, autograd (libtorch 1.13, CPU)
  libopenblas-dev       # fast BLAS for libtorch (reference BLAS is ~40x slower)
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libsqlite3-dev libfmt-dev
  libcpp-httplib-dev
  libssl-dev            # SHA-256 of model files (OpenSSL)
  libpcre2-dev          # the regular expressions of tokenizer.json pre-tokenizers (Unicode classes)
  libicu-dev            # Unicode normalisation (NFC) of tokenizer.json normalisers
  libgloo-dev           # collective communication for data-parallel training (c10d Gloo)
  libgtest-dev libgmock-dev libbenchmark-dev  # configured with the build; the test binaries
)
if [ "$set_name" = all ]; then
  packages+=(
    python3-venv        # the virtual environment of reference implementations (install-python.sh)
    chromium            # headless check that study reports render
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages ($set_name) present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# libtorch must run on OpenBLAS, not the reference BLAS, or matrix products are ~40x slower.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "install-deps: warning: libblas.so.3 resolves to '$blas', not OpenBLAS" >&2 ;;
esac
