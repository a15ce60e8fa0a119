"""Every architecture against llama.cpp on tiny seeded random-weight models written by
scripts/make_tiny_models.py: teacher-forced over 64 random tokens, F32 files must agree on top-1
at every position with logits within 1e-3, Q8_0 files on top-1 at >= 99% of positions. Broken
files (unknown architecture, a missing tensor) must give a clear error, not a crash."""
import dataclasses
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from llamacpp_reference import (load_reference, our_logits, reference_logits, run_logits,
                                top1_agreement, top1_margins)

SCRIPT = ROOT / "scripts" / "make_tiny_models.py"
N_POSITIONS = 64
SEED = 3
F32_MAX_LOGIT_DIFF = 1e-3
QUANTIZED_MIN_AGREEMENT = 0.99


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


@pytest.mark.parametrize("model_file", MODEL_FILES)
def test_teacher_forced_logits_match_llamacpp(tiny_models, model_file, binary, report):
    path = tiny_models / f"{model_file}.gguf"
    tokens = random_tokens()
    theirs = reference_logits(load_reference(path, n_ctx=N_POSITIONS), tokens)
    assert np.isfinite(theirs).all()
    assert len(set(theirs.argmax(axis=1))) > N_POSITIONS // 4, "degenerate model: top-1 barely varies"
    ours, _ = our_logits(binary, path, tokens)
    agree, max_diff = top1_agreement([ours], [theirs])
    report(f"tiny {model_file:22} top-1 {agree}/{N_POSITIONS}, max |logit diff| {max_diff:.2e} "
           f"(llama.cpp's smallest top-1 margin {top1_margins(theirs).min():.3f})")
    if model_file.endswith(".F32"):
        assert agree == N_POSITIONS
        assert max_diff < F32_MAX_LOGIT_DIFF
    else:
        assert agree >= QUANTIZED_MIN_AGREEMENT * N_POSITIONS


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
