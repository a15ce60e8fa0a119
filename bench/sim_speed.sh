#!/bin/sh
# Simulator speed: 100,000 requests on a full CloudMatrix384 (768 dies), one core.
# Usage: bench/sim_speed.sh [path/to/matrixserve]   (target: under 30 s)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/apps/matrixserve/matrixserve}
start=$(date +%s.%N)
taskset -c 0 "$bin" simulate "$root/deploy/sim/cm384_pd_100k.yaml"
end=$(date +%s.%N)
echo "simulated 100000 requests on 768 dies in $(echo "$end - $start" | bc) s wall"
