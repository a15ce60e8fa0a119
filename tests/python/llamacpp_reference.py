"""Teacher-forced logits from llama.cpp (llama-cpp-python) and from `matrixserve logits` for the
same token sequence, and how far they agree."""
import json
import subprocess
import tempfile

import llama_cpp  # installed by scripts/setup.sh: a missing reference fails, it is not skipped
import numpy as np


def load_reference(model_path, n_ctx=512, flash_attn=False, kv_type=llama_cpp.GGML_TYPE_F32):
    """llama.cpp on the CPU, keeping the logits of every position (F32 KV cache by default)."""
    return llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_batch=n_ctx, n_threads=2,
                           logits_all=True, type_k=kv_type, type_v=kv_type, flash_attn=flash_attn,
                           verbose=False)


def reference_logits(llm, tokens):
    """[len(tokens), n_vocab] float32: row i is the distribution after tokens[: i + 1]."""
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def reference_logits_one_by_one(llm, tokens):
    """The same, fed one token per decode call: llama.cpp's batched and one-token paths round
    differently, and that spread is a fair yardstick for how closely another engine can agree."""
    llm.reset()
    for token in tokens:
        llm.eval([token])
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def run_logits(binary, model_path, tokens, *options):
    """Runs `matrixserve logits` and returns the finished process, whatever its exit status."""
    return subprocess.run([str(binary), "logits", "-m", str(model_path), "-t", "2", *options,
                           "--tokens", ",".join(map(str, tokens))],
                          capture_output=True, text=True, timeout=600)


def our_logits(binary, model_path, tokens, *options):
    """`matrixserve logits`: ([len(tokens), n_vocab] float32, its JSON summary)."""
    with tempfile.NamedTemporaryFile(suffix=".f32") as out:
        result = run_logits(binary, model_path, tokens, *options, "-o", out.name)
        assert result.returncode == 0, f"matrixserve logits on {model_path}: {result.stderr.strip()}"
        summary = json.loads(result.stdout)
        logits = np.fromfile(out.name, dtype=np.float32).reshape(len(tokens), summary["n_vocab"])
    return logits, summary


def top1_agreement(logits_a, logits_b):
    """Over lists of [positions, n_vocab] arrays: (positions whose argmax agrees, max |diff|)."""
    agree = sum(int((a.argmax(axis=1) == b.argmax(axis=1)).sum()) for a, b in zip(logits_a, logits_b))
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(logits_a, logits_b))
    return agree, max_diff


def top1_margins(logits):
    """Per position, how far the best logit is ahead of the second: near-ties make top-1
    comparisons fragile, so tests report the smallest."""
    top_two = np.sort(logits, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]
