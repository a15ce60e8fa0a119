#!/usr/bin/env python3
"""Batched decode of a split deployment (attention | FFN over shared memory) against colocated.

Runs `matrixserve bench --sequences` for each placement, 2 threads in total each: colocated with
`-t 2`, and attention | ffn (deploy/runtime/attention-ffn.shm.yaml, copied with micro_batches 1
and 2, each with 1 and 2 attention DP groups; and attention-ffn-head.shm.yaml, the head shared
between the two, with 1 and 2 micro-batches) with `-t 1` in each process. Placements take turns
in every round (--runs rounds), so a change of machine load hits them alike; figures are medians
over the rounds. A colocated 1-thread
run with unit times is the reference for what limits the split: the FFN worker's share of a
step on one core. Prints a markdown table and writes bench/results/split_bench.{json,svg} and
docs/bench-split.svg.

  ~/.cache/matrixserve/venv/bin/python bench/split_bench.py [--runs 3] [--steps 16]
      [--placements colocated,mb2,shared-mb2]
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEPLOYMENT = ROOT / "deploy/runtime/attention-ffn.shm.yaml"
SHARED_HEAD = ROOT / "deploy/runtime/attention-ffn-head.shm.yaml"
FRONT_END_UNITS = ("embed", "attn", "head")


def split_deployment(directory, micro_batches, dp_groups=1, base=DEPLOYMENT):
    """The base file with micro_batches and dp_groups set, and shm names of this run's own (other
    runs of the same file on this host must not meet ours)."""
    text = re.sub(r"micro_batches: \d+", f"micro_batches: {micro_batches}\ndp_groups: {dp_groups}",
                  base.read_text())
    tag = f"{base.stem.split('.')[0]}-{micro_batches}-{dp_groups}"
    text = re.sub(r"\[ms-([\w-]+)-0\]", rf"[ms-bench-{os.getpid()}-\1-{tag}]", text)
    path = pathlib.Path(directory) / f"{base.stem}.mb{micro_batches}.dp{dp_groups}.yaml"
    path.write_text(text)
    return path


def placements(directory, chosen):
    """(name, bench arguments, counts in the comparison) per placement whose key is in `chosen`:
    colocated, attention | ffn with (DP groups, micro-batches) of (1, 1), (1, 2), (2, 1) and
    (2, 2), the shared head with 1 and 2 micro-batches, the 1-thread reference."""
    runs = {"colocated": ("colocated, 2 threads", ["-t", "2", "--threads-list", "2",
                                                   "--unit-times"], True)}
    for groups, mb, base in ((1, 1, DEPLOYMENT), (1, 2, DEPLOYMENT), (2, 1, DEPLOYMENT),
                             (2, 2, DEPLOYMENT), (1, 1, SHARED_HEAD), (1, 2, SHARED_HEAD)):
        name = f"attention | ffn, {mb} micro-batch{'es' if mb > 1 else ''}"
        key = f"mb{mb}"
        if groups > 1:
            name += f", {groups} DP groups"
            key = f"dp{groups}-{key}"
        if base == SHARED_HEAD:
            name += ", shared head"
            key = f"shared-{key}"
        runs[key] = (name, ["-t", "1", "--threads-list", "1", "--deployment",
                            str(split_deployment(directory, mb, groups, base))], True)
    runs["reference"] = ("colocated, 1 thread (reference)",
                         ["-t", "1", "--threads-list", "1", "--unit-times"], False)
    unknown = set(chosen) - set(runs)
    if unknown or "colocated" not in chosen:
        sys.exit(f"placements: choose colocated (the baseline) and any of {', '.join(runs)}; "
                 f"unknown: {sorted(unknown)}")
    return [run for key, run in runs.items() if key in chosen]


def bench(binary, model, args, opts):
    cmd = [binary, "bench", "-m", model, "--sequences", opts.sequences, "-n", str(opts.steps),
           "--prefill", str(opts.prefill), "-r", str(opts.repetitions), "--json", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    return {row["sequences"]: row for row in json.loads(out.stdout)}


def median_row(rows):
    """Medians over rounds of one placement at one batch size."""
    unit_kinds = set().union(*(r["unit_ms_per_step"] for r in rows))
    out = {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in rows),
           "ms_per_step": statistics.median(r["ms_per_step"] for r in rows),
           "unit_ms": {k: statistics.median(r["unit_ms_per_step"].get(k, 0) for r in rows)
                       for k in unit_kinds},
           "runs": [r["tokens_per_s"] for r in rows]}
    if "transport" in rows[0]:
        out["transport_ms"] = statistics.median(r["transport"]["ms_per_step"] for r in rows)
        out["transport_mb"] = statistics.median(r["transport"]["mb_per_step"] for r in rows)
        out["send_ms"] = statistics.median(r["transport"]["send_ms_per_step"] for r in rows)
        out["bubble_ms"] = statistics.median(r["transport"]["bubble_ms_per_step"] for r in rows)
    out["front_end_ms"] = sum(out["unit_ms"].get(k, 0) for k in FRONT_END_UNITS)
    out["ffn_ms"] = out["unit_ms"].get("ffn", 0)
    return out


def markdown(results, names, sizes):
    colocated = results[names[0]]
    lines = ["| batch | placement | tok/s (range over rounds) | × colocated | × colocated, median of "
             "rounds | ms/step | front end ms/step | FFN ms/step | transport ms/step (send) | "
             "MB/step | bubbles ms/step |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        for name in names:
            r = results[name][n]
            transport = (f"{r['transport_ms']:.2f} ({r['send_ms']:.2f}) | {r['transport_mb']:.3f} | "
                         f"{r['bubble_ms']:.2f}" if "transport_ms" in r else "– | – | –")
            spread = f"{min(r['runs']):.0f}–{max(r['runs']):.0f}"
            # Each round runs every placement back to back: its ratio sees one machine load.
            per_round = statistics.median(
                a / b for a, b in zip(r["runs"], colocated[n]["runs"]))
            lines.append(f"| {n} | {name.replace('|', chr(92) + '|')} | "
                         f"{r['tokens_per_s']:.1f} ({spread}) | "
                         f"{r['tokens_per_s'] / colocated[n]['tokens_per_s']:.2f} | "
                         f"{per_round:.2f} | {r['ms_per_step']:.2f} | {r['front_end_ms']:.2f} | {r['ffn_ms']:.2f} | "
                         f"{transport} |")
    return "\n".join(lines)


def svg_chart(results, names, sizes, title):
    colors = ["#2b6cb0", "#c05621", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e",
              "#319795"]
    width, left, bar, gap = 720, 70, 16, 22
    height = 70 + len(sizes) * (len(names) * bar + gap) + 20 * len(names)
    top = max(results[name][n]["tokens_per_s"] for name in names for n in sizes)
    scale = (width - left - 140) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="10" y="20" font-weight="bold">{title}</text>']
    y = 36
    for n in sizes:
        parts.append(f'<text x="10" y="{y + len(names) * bar / 2 + 4:.0f}">batch {n}</text>')
        base = results[names[0]][n]["tokens_per_s"]
        target = left + 0.9 * base * scale  # the target for the split
        parts.append(f'<line x1="{target:.1f}" y1="{y - 3}" x2="{target:.1f}" '
                     f'y2="{y + len(names) * bar + 1}" stroke="black" stroke-dasharray="3,2"/>')
        for name, color in zip(names, colors):
            value = results[name][n]["tokens_per_s"]
            w = value * scale
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                         f'fill="{color}"/>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 5}">{value:.1f} tok/s '
                         f'({value / base:.2f}×)</text>')
            y += bar
        y += gap
    for name, color in zip(names, colors):
        parts.append(f'<rect x="{left}" y="{y}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{left + 18}" y="{y + 11}">{name}</text>')
        y += 20
    parts.append(f'<text x="{left}" y="{y + 10}">dashed: 0.9× colocated</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=os.environ.get(
        "MATRIXSERVE_BIN", str(ROOT / "build/apps/matrixserve/matrixserve")))
    p.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--sequences", default="1,8,32")
    p.add_argument("--steps", type=int, default=16, help="decode steps per repetition")
    p.add_argument("--prefill", type=int, default=32, help="prompt tokens per sequence")
    p.add_argument("--repetitions", type=int, default=3, help="repetitions inside one bench run")
    p.add_argument("--runs", type=int, default=3, help="rounds, each running every placement")
    p.add_argument("--placements", default="colocated,mb1,mb2,dp2-mb1,dp2-mb2,shared-mb1,"
                   "shared-mb2,reference", help="which placements to run (comma separated)")
    p.add_argument("--out", default=str(ROOT / "bench/results"))
    p.add_argument("--svg", default=str(ROOT / "docs/bench-split.svg"))
    opts = p.parse_args()
    sizes = [int(n) for n in opts.sequences.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory:
        runs = placements(directory, opts.placements.split(","))
        samples = {name: {n: [] for n in sizes} for name, _, _ in runs}
        for round_index in range(opts.runs):
            for name, args, _ in runs:
                print(f"round {round_index + 1}/{opts.runs}: {name}", file=sys.stderr, flush=True)
                for n, row in bench(opts.binary, opts.model, args, opts).items():
                    samples[name][n].append(row)
    results = {name: {n: median_row(rows) for n, rows in by_size.items()}
               for name, by_size in samples.items()}
    names = [name for name, _, _ in runs]
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    table = markdown(results, names, sizes)
    print(f"{pathlib.Path(opts.model).name}, {opts.steps} decode steps after a "
          f"{opts.prefill}-token prompt per sequence, medians of {opts.runs} rounds × "
          f"{opts.repetitions} repetitions; {os.cpu_count()} cores, {load}\n")
    print(table)
    out = pathlib.Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "split_bench.json").write_text(json.dumps(
        {"model": opts.model, "steps": opts.steps, "prefill": opts.prefill, "load": load,
         "results": {name: {str(n): r for n, r in by_size.items()}
                     for name, by_size in results.items()}}, indent=2))
    chart = svg_chart(results, [name for name, _, compared in runs if compared], sizes,
                      f"decode tokens/s, 2 threads in total ({pathlib.Path(opts.model).name})")
    (out / "split_bench.svg").write_text(chart)
    if opts.svg:
        pathlib.Path(opts.svg).write_text(chart)
    print(f"\nwrote {out / 'split_bench.json'}, {out / 'split_bench.svg'}"
          + (f", {opts.svg}" if opts.svg else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
