#!/usr/bin/env python3
"""matrixserve bench against llama.cpp (llama-cpp-python) on the same model and thread counts.

Prints a table of prompt (pp) and generation (tg) tokens/s with the ratio ours/llama.cpp,
writes bench/results/compare_llamacpp.json and an SVG bar chart beside it. Medians of
--repetitions runs, each side measured in the same way: pp = one batch of N random tokens into
an empty context, tg = N single-token steps from an empty context.

  ~/.cache/matrixserve/venv/bin/python bench/compare_llamacpp.py [-m MODEL] [-t 1,2]
"""
import argparse
import json
import pathlib
import random
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def ours(binary, model, threads, n_prompt, n_gen, reps):
    out = subprocess.run([binary, "bench", "-m", model, "-p", str(n_prompt), "-n", str(n_gen),
                          "--threads-list", ",".join(map(str, threads)), "-r", str(reps), "--json"],
                         check=True, capture_output=True, text=True)
    return {(r["test"], r["threads"]): r["tokens_per_s"] for r in json.loads(out.stdout)}


def theirs(model, threads, n_prompt, n_gen, reps):
    import llama_cpp
    results = {}
    for t in threads:
        llm = llama_cpp.Llama(model_path=model, n_ctx=max(n_prompt, n_gen) + 16, n_batch=512,
                              n_threads=t, n_threads_batch=t, verbose=False)
        rng = random.Random(42)
        prompt = [rng.randrange(llm.n_vocab()) for _ in range(n_prompt)]
        gen = [rng.randrange(llm.n_vocab()) for _ in range(n_gen)]

        def run_pp():
            llm.reset()
            start = time.perf_counter()
            llm.eval(prompt)
            return n_prompt / (time.perf_counter() - start)

        def run_tg():
            llm.reset()
            start = time.perf_counter()
            for token in gen:
                llm.eval([token])
            return n_gen / (time.perf_counter() - start)

        for name, fn in ((f"pp{n_prompt}", run_pp), (f"tg{n_gen}", run_tg)):
            fn()  # warm-up
            samples = []
            for rep in range(reps):
                print(f"\rllama.cpp: {name}, {t} threads, run {rep + 1}/{reps}   ", end="",
                      file=sys.stderr, flush=True)
                samples.append(fn())
            results[(name, t)] = statistics.median(samples)
    print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    return results


def svg_chart(rows, path):
    width, bar, gap, left = 640, 18, 14, 150
    height = 40 + len(rows) * (2 * bar + gap)
    top = max(max(r["ours"], r["llama_cpp"]) for r in rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             '<text x="10" y="18" font-weight="bold">tokens/s (median): matrixserve vs llama.cpp</text>']
    y = 34
    for r in rows:
        parts.append(f'<text x="10" y="{y + bar}">{r["test"]}, {r["threads"]} thr</text>')
        for value, color, name in ((r["ours"], "#2b6cb0", "matrixserve"), (r["llama_cpp"], "#c05621", "llama.cpp")):
            w = (width - left - 90) * value / top
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{color}"/>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 6}">{value:.1f} {name}</text>')
            y += bar
        y += gap
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("-b", "--binary", default=str(ROOT / "build/apps/matrixserve/matrixserve"))
    p.add_argument("-t", "--threads", default="1,2")
    p.add_argument("-p", "--n-prompt", type=int, default=128)
    p.add_argument("-n", "--n-gen", type=int, default=64)
    p.add_argument("-r", "--repetitions", type=int, default=5)
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    a = ours(args.binary, args.model, threads, args.n_prompt, args.n_gen, args.repetitions)
    b = theirs(args.model, threads, args.n_prompt, args.n_gen, args.repetitions)
    rows = [{"test": test, "threads": t, "ours": a[(test, t)], "llama_cpp": b[(test, t)],
             "ratio": a[(test, t)] / b[(test, t)]} for (test, t) in sorted(b, key=lambda k: (k[1], k[0]))]
    print(f"model {pathlib.Path(args.model).name}, medians of {args.repetitions} runs")
    print(f"| {'test':6} | threads | {'matrixserve t/s':>15} | {'llama.cpp t/s':>13} | ratio |")
    print(f"|{'-' * 8}|---------|{'-' * 17}|{'-' * 15}|-------|")
    for r in rows:
        print(f"| {r['test']:6} | {r['threads']:7} | {r['ours']:15.1f} | {r['llama_cpp']:13.1f} | {r['ratio']:5.2f} |")
    out_dir = ROOT / "bench/results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "compare_llamacpp.json").write_text(json.dumps(rows, indent=2))
    svg_chart(rows, out_dir / "compare_llamacpp.svg")
    print(f"wrote {out_dir / 'compare_llamacpp.json'} and .svg")


if __name__ == "__main__":
    main()
