#!/bin/bash
# Serving throughput against concurrency (issue 4, "Must show"): starts `matrixserve serve` on
# the default model and runs `matrixserve bench-serve` at concurrency 1, 8, 32 and 64 with
# 128-token prompts and 64 output tokens (ignore_eos). Prints output tokens/s and TPOT p50 with
# their ratios to concurrency 1; writes bench/results/serve_concurrency.{json,svg}.
# Usage: bench/serve_concurrency.sh [path/to/matrixserve]
#   CONCURRENCY="1 8 32 64"  INPUT_LEN=128  OUTPUT_LEN=64  PROMPTS_PER_SLOT=2  (environment)
# Target: at concurrency 32, output tokens/s >= 4x and TPOT p50 <= 3x concurrency 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${MATRIXSERVE_BIN:-$root/build/apps/matrixserve/matrixserve}}
concurrency=${CONCURRENCY:-1 8 32 64}
input_len=${INPUT_LEN:-128}
output_len=${OUTPUT_LEN:-64}
prompts_per_slot=${PROMPTS_PER_SLOT:-2}
results=$root/bench/results
runs=$(mktemp -d)
mkdir -p "$results"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
max_concurrency=$(echo "$concurrency" | tr ' ' '\n' | sort -n | tail -1)
# Room for every request at once: running slots and KV blocks (16 tokens each, default size);
# no queue-wait limit, as this measures throughput rather than load shedding on a busy machine.
"$bin" serve --port "$port" --max-running "$max_concurrency" --max-queue-wait-ms 600000 \
    --kv-blocks $((max_concurrency * (input_len + output_len + 64) / 16)) 2>"$runs/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$runs"' EXIT
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 $server 2>/dev/null || { cat "$runs/server.log"; exit 1; }
    sleep 0.2
done
model=$(curl -s "http://127.0.0.1:$port/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')

for c in $concurrency; do
    prompts=$((c * prompts_per_slot > 4 ? c * prompts_per_slot : 4))
    echo "== concurrency $c: $prompts prompts" >&2
    "$bin" bench-serve --url "http://127.0.0.1:$port" --model "$model" --max-concurrency "$c" \
        --num-prompts "$prompts" --input-len "$input_len" --output-len "$output_len" \
        --seed "$c" --json "$runs/c$c.json" >&2
done

python3 - "$runs" "$results" "$concurrency" "$input_len" "$output_len" "$(nproc)" <<'PY'
import json, pathlib, sys

runs, results, levels = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3].split()
input_len, output_len, cores = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rows = []
for c in map(int, levels):
    doc = json.loads((runs / f"c{c}.json").read_text())
    rows.append({"concurrency": c, "requests": doc["completed"], "failed": doc["failed"],
                 "output_tok_s": doc["output_throughput"], "tpot_p50_ms": doc["tpot_ms"]["p50"],
                 "ttft_p50_ms": doc["ttft_ms"]["p50"], "itl_p50_ms": doc["itl_ms"]["p50"],
                 "summary": {k: v for k, v in doc.items() if k != "requests"}})
base = rows[0]
for row in rows:
    row["throughput_ratio"] = row["output_tok_s"] / base["output_tok_s"]
    row["tpot_ratio"] = row["tpot_p50_ms"] / base["tpot_p50_ms"] if base["tpot_p50_ms"] else None

print(f"\nSmolLM2-135M-Instruct Q4_1, input {input_len} / output {output_len} tokens, {cores} cores")
print(f"{'concurrency':>11} {'ok/failed':>10} {'output tok/s':>13} {'x c=1':>6} "
      f"{'TPOT p50 ms':>12} {'x c=1':>6} {'TTFT p50 ms':>12}")
for r in rows:
    print(f"{r['concurrency']:>11} {str(r['requests']) + '/' + str(r['failed']):>10} "
          f"{r['output_tok_s']:>13.1f} {r['throughput_ratio']:>6.2f} {r['tpot_p50_ms']:>12.1f} "
          f"{r['tpot_ratio'] or 0:>6.2f} {r['ttft_p50_ms']:>12.1f}")
at32 = next((r for r in rows if r["concurrency"] == 32), None)
if at32 and base["concurrency"] == 1:
    ok = at32["throughput_ratio"] >= 4 and (at32["tpot_ratio"] or 0) <= 3
    print(f"target at 32 (>= 4x tok/s, TPOT p50 <= 3x): {'met' if ok else 'NOT met'}")

(results / "serve_concurrency.json").write_text(json.dumps(
    {"model": "SmolLM2-135M-Instruct.Q4_1", "input_len": input_len, "output_len": output_len,
     "cores": cores, "rows": rows}, indent=2) + "\n")

# Two panels side by side: output tokens/s and TPOT p50 against concurrency (log2 axis).
import math
def panel(x0, title, key, color):
    w, h, left, top = 380, 260, 50, 30
    xs = [math.log2(r["concurrency"]) for r in rows]
    ys = [r[key] for r in rows]
    xmax, ymax = max(xs) or 1, max(ys) * 1.15 or 1
    px = lambda x: x0 + left + x / xmax * (w - left - 20)
    py = lambda y: top + (1 - y / ymax) * (h - top - 40)
    out = [f'<text x="{x0 + w / 2}" y="18" text-anchor="middle" font-weight="bold">{title}</text>',
           f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(xmax)}" y2="{py(0)}" stroke="black"/>',
           f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(0)}" y2="{py(ymax)}" stroke="black"/>']
    for r, x, y in zip(rows, xs, ys):
        out.append(f'<text x="{px(x)}" y="{py(0) + 16}" text-anchor="middle">{r["concurrency"]}</text>')
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{color}"/>')
        out.append(f'<text x="{px(x):.1f}" y="{py(y) - 8:.1f}" text-anchor="middle">{y:.1f}</text>')
    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    out.append(f'<text x="{x0 + w / 2}" y="{h - 4}" text-anchor="middle">concurrency</text>')
    return out
body = panel(0, "output tokens/s", "output_tok_s", "#1f77b4") + \
       panel(400, "TPOT p50 (ms)", "tpot_p50_ms", "#d62728")
(results / "serve_concurrency.svg").write_text(
    '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="270" font-family="sans-serif" '
    'font-size="12">\n<rect width="800" height="270" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")
print(f"wrote {results}/serve_concurrency.json and serve_concurrency.svg")
PY
