"""Every architecture against llama.cpp on tiny seeded random-weight models written by
scripts/make_tiny_models.py, teacher-forced over 64 random tokens. F32 files must agree on top-1
at every position with logits within 1e-3 (or within llama.cpp's own spread between its batched
and one-token paths, where that is wider: Gemma 3's GELU goes through an fp16 table). Q8_0 files
are chaotic (one 8-bit rounding that falls the other way moves later logits by up to ~5), so
they are held to llama.cpp's own spread on this CPU, as the real models are (llamacpp_reference:
ours within two points of its worst variant, misses near ties, logits within twice its spread).
Where our summation order is llama.cpp's (AVX2 and AVX-512 CPUs) they are bit-identical
(docs/engine.md, "Numerics"), which is reported. Broken files (unknown architecture, a missing
tensor) must give a clear error, not a crash."""
import dataclasses
import functools
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from llamacpp_reference import (agreement, check_agreement, load_reference, our_logits,
                                reference_logits, reference_logits_one_by_one, run_logits,
                                top1_agreement, top1_margins, yardstick)

SCRIPT = ROOT / "scripts" / "make_tiny_models.py"
N_POSITIONS = 64
SEED = 3
F32_MAX_LOGIT_DIFF = 1e-3


def load_script():
    spec = importlib.util.spec_from_file_location("make_tiny_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY = load_script()
MODELS = {model.name: model for model in TINY.all_models()}
MODEL_FILES = [f"{name}.{type_name}" for name in MODELS for type_name in TINY.QUANT_TYPES]

# For each model, a tensor that sets its architecture apart from llama where there is one, so the
# error must come from what that architecture's own loader asks for.
CHARACTERISTIC_TENSOR = {
    "llama": "blk.1.ffn_down.weight",
    "qwen2": "blk.1.attn_k.bias",
    "qwen3": "blk.1.attn_q_norm.weight",
    "qwen2moe": "blk.1.ffn_gate_inp_shexp.weight",
    "qwen3moe": "blk.1.ffn_down_exps.weight",
    "gemma3": "blk.5.post_ffw_norm.weight",
    "deepseek2": "blk.2.attn_k_b.weight",
    "deepseek2-lite": "blk.1.attn_kv_a_norm.weight",
    "deepseek2-yarn": "blk.2.attn_v_b.weight",
}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_models")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


def random_tokens():
    """BOS, then uniformly random ids past the control tokens (0 unk, 1 bos, 2 eos)."""
    rng = np.random.default_rng(SEED)
    return [1] + [int(t) for t in rng.integers(3, TINY.N_VOCAB, N_POSITIONS - 1)]


@functools.cache
def reference(path):
    """llama.cpp on the random tokens: its logits, and how far its own variants are from them
    (one token at a time, and for Q8_0 flash attention and an F16 KV cache too)."""
    tokens = random_tokens()
    llm = load_reference(path, n_ctx=N_POSITIONS)
    theirs = reference_logits(llm, tokens)
    if path.name.endswith(".F32.gguf"):
        _, spread = top1_agreement([reference_logits_one_by_one(llm, tokens)], [theirs])
        return theirs, spread
    return theirs, yardstick(path, [tokens], [theirs], n_ctx=N_POSITIONS, one_by_one=True)


@pytest.mark.parametrize("model_file", MODEL_FILES)
def test_teacher_forced_logits_match_llamacpp(tiny_models, model_file, binary, report, isa):
    path = tiny_models / f"{model_file}.gguf"
    tokens = random_tokens()
    theirs, spread = reference(path)
    assert np.isfinite(theirs).all()
    assert len(set(theirs.argmax(axis=1))) > N_POSITIONS // 4, "degenerate model: top-1 barely varies"
    ours, _ = our_logits(binary, path, tokens)
    agree, max_diff = top1_agreement([ours], [theirs])
    misses = np.flatnonzero(ours.argmax(axis=1) != theirs.argmax(axis=1))
    report(f"tiny {model_file:22} top-1 {agree}/{N_POSITIONS}, max |logit diff| {max_diff:.2e} "
           f"(llama.cpp's smallest top-1 margin {top1_margins(theirs).min():.3f}; at misses "
           f"{', '.join(f'{m:.3f}' for m in top1_margins(theirs)[misses])})")
    if model_file.endswith(".F32"):
        report(f"tiny {model_file:22} llama.cpp batched vs one token at a time: "
               f"max |logit diff| {spread:.2e}")
        assert agree == N_POSITIONS
        assert max_diff < max(F32_MAX_LOGIT_DIFF, spread)
    else:
        report(f"tiny {model_file:22} llama.cpp against itself: {spread.describe()}")
        check_agreement(agreement([ours], [theirs]), spread)


def write_variant(model, directory, tag):
    return TINY.write_model(dataclasses.replace(model, name=f"{model.name}-{tag}"), "F32", directory)


def assert_clean_failure(result, *expected_words):
    """A non-zero exit (not a signal) whose message names what is wrong."""
    assert result.returncode > 0, f"exit {result.returncode}: {result.stderr}"
    for word in expected_words:
        assert word in result.stderr, f"{word!r} not in error: {result.stderr}"


def test_unsupported_architecture_is_named(tmp_path, binary):
    path = write_variant(dataclasses.replace(MODELS["llama"], arch="mamba"), tmp_path, "mamba")
    result = run_logits(binary, path, random_tokens()[:4])
    assert_clean_failure(result, "mamba", "architecture")


@pytest.mark.parametrize("name", MODELS)
def test_missing_tensor_is_named(tmp_path, binary, name):
    model = MODELS[name]
    tensor = CHARACTERISTIC_TENSOR[name]

    def build_without_tensor(weights):
        model.build(weights)
        del weights.tensors[tensor]

    path = write_variant(dataclasses.replace(model, build=build_without_tensor), tmp_path, "missing")
    result = run_logits(binary, path, random_tokens()[:4])
    assert_clean_failure(result, tensor)
