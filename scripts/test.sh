#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test:
#   0. clang-format check of every tracked .cpp/.h
#   1. C++ unit and model tests (CTest, GoogleTest)
#   2. the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the threaded modules' tests built with ThreadSanitizer
#   4. libFuzzer smoke runs of the parsers of outside data (MS_FUZZ_SECONDS each, default 60)
#   5. Python tests against the real references (llama.cpp via llama-cpp-python, HF tokenizers),
#      the comparisons with llama.cpp at every instruction-set level of our kernels the CPU has
# Every build here treats warnings as errors (MS_WERROR; off by default for users).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
venv=${MATRIXSERVE_VENV:-$HOME/.cache/matrixserve/venv}
jobs=$(nproc)
fuzz_seconds=${MS_FUZZ_SECONDS:-60}
# Compile results are shared between clones of the repository (CI builds a fresh clone).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true

step() { printf '\n=== %s === (%d s so far)\n' "$*" "$SECONDS"; }

step "format (clang-format)"
# The checked-in .clang-format with Debian 12's clang-format 14; first, as it takes a second.
git ls-files -z '*.cpp' '*.h' | xargs -0 clang-format --dry-run --Werror

step "build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMS_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "C++ tests"
ctest --test-dir build --output-on-failure -j "$jobs"

step "C++ tests and the server under ASan/UBSan"
# Everything that parses outside data or holds state; the simulator is plain arithmetic.
asan_tests=(gguf_test tokenizer_test kernels_test model_test executor_test scheduler_test engine_test
  server_test transport_test runtime_test grammar_test)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMS_SANITIZE=ON \
  -DMS_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs" --target "${asan_tests[@]}" matrixserve
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
for t in "${asan_tests[@]}"; do
  bin=$(find build-asan/tests -name "$t" -type f -perm -u+x | head -n 1)
  echo "--- $t"
  "$bin" --gtest_brief=1
done
MATRIXSERVE_BIN="$root/build-asan/apps/matrixserve/matrixserve" \
MATRIXSERVE_MODEL="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python/test_server_api.py tests/python/test_server_errors.py \
    tests/python/test_server_hardening.py
unset ASAN_OPTIONS UBSAN_OPTIONS

step "C++ tests under ThreadSanitizer"
# The modules with threads of their own: the engine (engine_test) with its scheduler, the
# transports (in-process, shm, UCX), the runtime, the model (thread pool) and its executor
# (micro-batches pipelined across threads, DP groups taking turns).
# Only these targets are built (about 4 min cold on 2 cores). No suppressions: every report fails.
tsan_tests=(scheduler_test engine_test transport_test ucx_transport_test runtime_test model_test
  executor_test)
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMS_TSAN=ON \
  -DMS_WERROR=ON >/dev/null
cmake --build build-tsan -j "$jobs" --target "${tsan_tests[@]}" ucx_peer
# UCX's memory hooks (libucm 1.13) patch madvise/mmap in libc; a thread's exit then calls into
# TSan after its TSan state is gone, and every binary linking UCX segfaults. They keep RDMA
# registration caches honest; these tests run UCX over tcp and self only (UCX_TLS).
export UCX_MEM_MMAP_HOOK_MODE=none TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
for t in "${tsan_tests[@]}"; do
  bin=$(find build-tsan/tests -name "$t" -type f -perm -u+x | head -n 1)
  echo "--- $t"
  "$bin" --gtest_brief=1
done
unset UCX_MEM_MMAP_HOOK_MODE TSAN_OPTIONS

step "fuzzing (${fuzz_seconds}s per target)"
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMS_FUZZ=ON -DMS_SANITIZE=ON -DMS_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_all
for corpus in fuzz/corpus/*/; do
  target=$(basename "$corpus")_fuzz
  scratch=$(mktemp -d)
  cp -r "$corpus". "$scratch"/
  # The HTTP parser also gets inputs up to 1 MB: oversized headers and trailers live there.
  max_len=(); [ "$target" = http_request_fuzz ] && max_len=(-max_len=1048576)
  if ! "build-fuzz/fuzz/$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
      "${max_len[@]}" -artifact_prefix="$scratch/" "$scratch" >"$scratch.log" 2>&1; then
    tail -n 60 "$scratch.log"
    echo "fuzz: $target failed; crashing input kept in $scratch" >&2
    exit 1
  fi
  echo "$target: $(grep -E '^stat::number_of_executed_units' "$scratch.log") in ${fuzz_seconds}s, no failures"
  rm -rf "$scratch" "$scratch.log"
done

step "Python tests (references: llama.cpp, HF tokenizers)"
export MATRIXSERVE_BIN="$root/build/apps/matrixserve/matrixserve"
export MATRIXSERVE_MODEL="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
# The comparisons with llama.cpp (tiny models, SmolLM2, Gemma 3) run at every level of our
# kernels this CPU has (scalar, avx2, avx512, avx512vnni, amx: MATRIXSERVE_MAX_ISA,
# docs/kernels.md), so a difference between our own kernels fails on the machine at hand;
# llama.cpp's side runs once for all of them. The seconds per level are printed at the end.
started=$SECONDS
MATRIXSERVE_ISA_MATRIX=all "$venv/bin/python" -m pytest -q tests/python
echo "Python tests: $((SECONDS - started)) s"
