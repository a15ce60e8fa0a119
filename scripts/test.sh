#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test:
#   1. C++ unit and model tests (CTest, GoogleTest)
#   2. the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   3. libFuzzer smoke runs of the parsers of outside data (MS_FUZZ_SECONDS each, default 60)
#   4. Python tests against the real references (llama.cpp via llama-cpp-python, HF tokenizers)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
venv=${MATRIXSERVE_VENV:-$HOME/.cache/matrixserve/venv}
jobs=$(nproc)
fuzz_seconds=${MS_FUZZ_SECONDS:-60}

step() { printf '\n=== %s ===\n' "$*"; }

step "build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

step "C++ tests"
ctest --test-dir build --output-on-failure -j "$jobs"

step "C++ tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMS_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

step "fuzzing (${fuzz_seconds}s per target)"
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMS_FUZZ=ON -DMS_SANITIZE=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_all
for corpus in fuzz/corpus/*/; do
  target=$(basename "$corpus")_fuzz
  scratch=$(mktemp -d)
  cp -r "$corpus". "$scratch"/
  "build-fuzz/fuzz/$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$scratch" \
    2>&1 | grep -E "^(stat::number_of_executed_units|Done|INFO: Running|==.*ERROR)" || true
  rm -rf "$scratch"
done

step "Python tests (references: llama.cpp, HF tokenizers)"
export MATRIXSERVE_BIN="$root/build/apps/matrixserve/matrixserve"
export MATRIXSERVE_MODEL="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
"$venv/bin/python" -m pytest -q tests/python
