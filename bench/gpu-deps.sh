#!/usr/bin/env bash
# Downloads, here (Debian 12, with apt), the Debian packages that building elab needs and
# that the GPU machine's image lacks, into bench/gpu-debs/ (ignored by git). That folder
# is what `carry` takes to the machine, where bench/gpu-check.sh unpacks them into a
# folder of its own (dpkg -x: nothing is installed there). Run once before a device call.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=bench/gpu-debs
packages=(
  libfmt-dev libfmt9 nlohmann-json3-dev libtomlplusplus-dev libtomlplusplus3 libcli11-dev
  libsqlite3-dev libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev libbrotli1
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libicu-dev libicu72 libssl-dev libssl3 libgtest-dev libgmock-dev libgloo-dev libgloo0
  ninja-build pkg-config pkgconf pkgconf-bin libpkgconf3
)
mkdir -p "$dir"
(cd "$dir" && apt-get download "${packages[@]}")
size=$(du -sm "$dir" | cut -f1)
echo "gpu-deps: ${#packages[@]} packages in $dir, ${size} MiB"
[ "$size" -lt 48 ] || { echo "gpu-deps: $dir is over 48 MiB; the working tree that travels is 64 MiB at most" >&2; exit 1; }
