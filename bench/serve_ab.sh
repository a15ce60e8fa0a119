#!/bin/bash
# Two builds side by side (a change against the commit before it): runs
# bench/serve_concurrency.sh for A and B in turn, REPS rounds (interleaved, so drifting load on a
# shared machine hits both alike), then prints each concurrency's median output tokens/s and
# TPOT p50 for A and B with the ratio B/A. Writes bench/results/serve_ab.json.
# Usage: bench/serve_ab.sh path/to/matrixserve-A path/to/matrixserve-B
#   REPS=3  CONCURRENCY="1 8 32"  (environment; the rest as serve_concurrency.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
a=$1 b=$2
reps=${REPS:-3}
export CONCURRENCY=${CONCURRENCY:-1 8 32}
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
for rep in $(seq "$reps"); do
    for side in a b; do
        bin=$a; [ "$side" = b ] && bin=$b
        echo "== round $rep/$reps, build $side ($bin)" >&2
        "$root/bench/serve_concurrency.sh" "$bin" >&2
        cp "$root/bench/results/serve_concurrency.json" "$runs/$side.$rep.json"
    done
done

python3 - "$runs" "$reps" "$a" "$b" "$(nproc)" > "$runs/table.txt" <<'PY'
import json, pathlib, statistics, sys

runs, reps, a, b, cores = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def medians(side):
    docs = [json.loads((runs / f"{side}.{r}.json").read_text()) for r in range(1, reps + 1)]
    out = {}
    for row in docs[0]["rows"]:
        c = row["concurrency"]
        rows = [next(x for x in d["rows"] if x["concurrency"] == c) for d in docs]
        out[c] = {"output_tok_s": statistics.median(x["output_tok_s"] for x in rows),
                  "tpot_p50_ms": statistics.median(x["tpot_p50_ms"] for x in rows),
                  "failed": sum(x["failed"] for x in rows)}
    return out
ma, mb = medians("a"), medians("b")
print(f"A = {a}\nB = {b}\nmedians of {reps} interleaved rounds, {cores} cores")
print(f"{'concurrency':>11} {'A tok/s':>9} {'B tok/s':>9} {'B/A':>6} {'A TPOT ms':>10} {'B TPOT ms':>10} {'B/A':>6} {'failed':>7}")
for c in ma:
    x, y = ma[c], mb[c]
    print(f"{c:>11} {x['output_tok_s']:>9.1f} {y['output_tok_s']:>9.1f} "
          f"{y['output_tok_s'] / x['output_tok_s']:>6.3f} {x['tpot_p50_ms']:>10.1f} "
          f"{y['tpot_p50_ms']:>10.1f} {y['tpot_p50_ms'] / x['tpot_p50_ms']:>6.3f} "
          f"{x['failed'] + y['failed']:>7}")
pathlib.Path(sys.argv[1]).joinpath("ab.json").write_text(json.dumps({"a": ma, "b": mb}))
PY
cat "$runs/table.txt"
cp "$runs/ab.json" "$root/bench/results/serve_ab.json"
