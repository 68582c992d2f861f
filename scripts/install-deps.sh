#!/usr/bin/env bash
# Installs, idempotently, every Debian package elab needs to build and test.
# Only missing packages are installed; a machine that has them all is left untouched.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev          # tensors, autograd (libtorch 1.13, CPU)
  libopenblas-dev       # fast BLAS for libtorch (reference BLAS is ~40x slower)
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libsqlite3-dev libfmt-dev
  libcpp-httplib-dev
  libpcre2-dev          # the regular expressions of tokenizer.json pre-tokenizers (Unicode classes)
  python3-venv          # the virtual environment of reference implementations (install-python.sh)
  libgloo-dev           # collective communication for data-parallel training (c10d Gloo)
  libgtest-dev libgmock-dev libbenchmark-dev
  chromium              # headless check that study reports render (tests only)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
