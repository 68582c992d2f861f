#!/usr/bin/env bash
# Fuzzes elab's readers of untrusted files with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang from Debian): GGUF, safetensors, tokenizer.json,
# config.json, and text through the BPE tokenizers.
#
#   bench/fuzz.sh [SECONDS_EACH] [HARNESS...]     (default 600 s each, every harness)
#
# Each harness starts from fuzz/corpus/<name> and grows a working corpus in
# build-fuzz/corpus/<name>. An input that crashes is copied to fuzz/regressions/<name>/,
# which tests/model/fuzz_regressions_test.cpp replays in the normal test suite: commit it
# with the fix. Prints one line per harness: runs, coverage, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
all=(gguf safetensors tokenizer_json config_json bpe_text)
harnesses=("${@:-${all[@]}}")
out=build-fuzz
mkdir -p "$out"

flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc
       -DELAB_FUZZ_DIR="\"$PWD/fuzz\"" $(pkg-config --cflags libpcre2-8 icu-uc))
libs=(-lfmt $(pkg-config --libs libpcre2-8 icu-uc))
# libtorch 1.13's headers do not compile as C++20 under clang 14 (c10::IValue is
# incomplete where std::vector needs it); as C++17 they do, and the reader is the same.
torch_flags=(-std=c++17 -I/usr/include/torch/csrc/api/include)
torch_libs=(-ltorch -ltorch_cpu -lc10)

sources_for() {
  case "$1" in
    gguf) echo "src/model/gguf.cpp src/model/quant.cpp" ;;
    safetensors) echo "src/model/safetensors.cpp src/core/fs.cpp" ;;
    tokenizer_json|bpe_text) echo "src/text/bpe.cpp src/text/hf_tokenizer.cpp src/text/tokenizer.cpp src/core/fs.cpp" ;;
    config_json) echo "src/model/config.cpp src/core/names.cpp" ;;
    *) echo "unknown harness '$1' (have: ${all[*]})" >&2; exit 2 ;;
  esac
}

for h in "${harnesses[@]}"; do
  srcs=$(sources_for "$h")
  extra=(); extra_libs=()
  [ "$h" = safetensors ] && extra=("${torch_flags[@]}") && extra_libs=("${torch_libs[@]}")
  echo "fuzz: building $h" >&2
  clang++ "${flags[@]}" "${extra[@]}" "fuzz/fuzz_$h.cpp" $srcs "${libs[@]}" "${extra_libs[@]}" -o "$out/fuzz_$h"
  mkdir -p "$out/corpus/$h" "$out/crashes/$h" "fuzz/regressions/$h"
  log="$out/fuzz_$h.log"
  set +e
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/fuzz_$h" "$out/corpus/$h" "fuzz/corpus/$h" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -malloc_limit_mb=2048 -max_len=1048576 -timeout=30 -artifact_prefix="$out/crashes/$h/" -print_final_stats=1 \
    > "$log" 2>&1
  status=$?
  set -e
  crashes=$(find "$out/crashes/$h" -type f | wc -l)
  [ "$crashes" -gt 0 ] && cp "$out/crashes/$h"/* "fuzz/regressions/$h/"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  echo "fuzz $h: ${seconds}s, $runs runs, coverage $cov edges, $crashes crashing inputs (exit $status; log $log)"
done
