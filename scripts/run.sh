#!/usr/bin/env bash
# Sets up the machine, builds, and runs the main job: the server with the default model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target matrixserve
exec build/apps/matrixserve/matrixserve serve "$@"
