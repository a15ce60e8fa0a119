#!/usr/bin/env python3
"""Writes tiny seeded random-weight GGUF models, one per architecture matrixserve supports or is
meant to support, in F32 and in Q8_0, so that tests can compare matrixserve's logits with
llama.cpp's on every architecture without downloading real models.

Every file carries the 512-token SentencePiece vocabulary of stories260K (so tokenizers load) and
exactly the metadata keys and tensors llama.cpp reads for its architecture. Weights come from a
generator seeded by (model, tensor) name, so the output is byte-identical from run to run and the
F32 and Q8_0 files hold the same weights before quantization. Scales are chosen so the logits are
well separated (no near-ties between the top two tokens) and the residual stream stays O(1).

Usage: make_tiny_models.py --out DIR [--only NAME ...]      (names: see --list)
"""
import argparse
import dataclasses
import pathlib
import sys
import zlib
from typing import Callable

import gguf
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
VOCAB_SOURCE = ROOT.parent / "shared" / "models" / "stories260K" / "stories260K.gguf"

N_VOCAB = 512
N_EMBD = 64
CONTEXT_LENGTH = 256
RMS_EPS = 1e-5
EMBEDDING_STD = 1.0 / np.sqrt(N_EMBD)  # embeddings as large as one layer's output, not larger
LOGIT_STD = 8.0  # the gap between the top two of 512 logits is ~LOGIT_STD/3.5: ties are rare
NORM_JITTER = 0.1
BIAS_STD = 0.1

# Tensors llama.cpp's quantizer keeps in F32 even in quantized files (routers are tiny and
# precision-sensitive); everything else with two or more dimensions becomes Q8_0.
KEEP_F32_SUFFIXES = ("ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight")
QUANT_TYPES = {"F32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
               "Q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0)}


class Weights:
    """Collects named tensors; each is drawn from a generator seeded by the model and tensor
    name, so a tensor's values do not depend on which other tensors exist."""

    def __init__(self, model: str):
        self.model = model
        self.tensors: dict[str, np.ndarray] = {}

    def _rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(f"{self.model}/{name}".encode()))

    def normal(self, name: str, shape: tuple, std: float, mean: float = 0.0) -> None:
        """shape is numpy order, i.e. GGUF ne reversed: a matrix mapping k inputs to n outputs
        is (n, k) here and ne = [k, n] in the file."""
        values = mean + std * self._rng(name).standard_normal(shape)
        self.tensors[name] = values.astype(np.float32)

    def matrix(self, name: str, n_out: int, n_in: int) -> None:
        self.normal(name, (n_out, n_in), 1.0 / np.sqrt(n_in))

    def experts(self, name: str, n_expert: int, n_out: int, n_in: int) -> None:
        self.normal(name, (n_expert, n_out, n_in), 1.0 / np.sqrt(n_in))

    def norm(self, name: str, size: int) -> None:
        self.normal(name, (size,), NORM_JITTER, mean=1.0)

    def bias(self, name: str, size: int) -> None:
        self.normal(name, (size,), BIAS_STD)


@dataclasses.dataclass
class Model:
    name: str
    arch: str
    metadata: dict  # key without the "{arch}." prefix -> value (int: uint32, float: float32)
    build: Callable[[Weights], None]
    description: str


# ---- building blocks shared by the architectures -------------------------------------------


def embeddings(w: Weights, tied: bool) -> None:
    """The final norm's gain sets the logit scale: logits = (normalised h * gain) . head rows,
    whose entries have std head_std, so the logit std is gain * head_std * sqrt(N_EMBD)."""
    w.normal("token_embd.weight", (N_VOCAB, N_EMBD), EMBEDDING_STD)
    head_std = EMBEDDING_STD if tied else 1.0 / np.sqrt(N_EMBD)
    if not tied:
        w.normal("output.weight", (N_VOCAB, N_EMBD), head_std)
    gain = LOGIT_STD / (head_std * np.sqrt(N_EMBD))
    w.normal("output_norm.weight", (N_EMBD,), NORM_JITTER * gain, mean=gain)


def attention(w: Weights, blk: str, n_head: int, n_head_kv: int, head_dim: int,
              qkv_bias: bool = False, qk_norm: bool = False) -> None:
    w.norm(f"{blk}.attn_norm.weight", N_EMBD)
    w.matrix(f"{blk}.attn_q.weight", n_head * head_dim, N_EMBD)
    w.matrix(f"{blk}.attn_k.weight", n_head_kv * head_dim, N_EMBD)
    w.matrix(f"{blk}.attn_v.weight", n_head_kv * head_dim, N_EMBD)
    w.matrix(f"{blk}.attn_output.weight", N_EMBD, n_head * head_dim)
    if qkv_bias:
        w.bias(f"{blk}.attn_q.bias", n_head * head_dim)
        w.bias(f"{blk}.attn_k.bias", n_head_kv * head_dim)
        w.bias(f"{blk}.attn_v.bias", n_head_kv * head_dim)
    if qk_norm:
        w.norm(f"{blk}.attn_q_norm.weight", head_dim)
        w.norm(f"{blk}.attn_k_norm.weight", head_dim)


def dense_ffn(w: Weights, blk: str, n_ff: int, suffix: str = "") -> None:
    w.matrix(f"{blk}.ffn_gate{suffix}.weight", n_ff, N_EMBD)
    w.matrix(f"{blk}.ffn_up{suffix}.weight", n_ff, N_EMBD)
    w.matrix(f"{blk}.ffn_down{suffix}.weight", N_EMBD, n_ff)


def routed_experts(w: Weights, blk: str, n_expert: int, n_ff_exp: int) -> None:
    w.matrix(f"{blk}.ffn_gate_inp.weight", n_expert, N_EMBD)
    w.experts(f"{blk}.ffn_gate_exps.weight", n_expert, n_ff_exp, N_EMBD)
    w.experts(f"{blk}.ffn_up_exps.weight", n_expert, n_ff_exp, N_EMBD)
    w.experts(f"{blk}.ffn_down_exps.weight", n_expert, N_EMBD, n_ff_exp)


def base_metadata(n_layer: int, n_head: int, n_head_kv: int, n_ff: int, **extra) -> dict:
    return {"context_length": CONTEXT_LENGTH, "embedding_length": N_EMBD, "block_count": n_layer,
            "feed_forward_length": n_ff, "attention.head_count": n_head,
            "attention.head_count_kv": n_head_kv, "attention.layer_norm_rms_epsilon": RMS_EPS,
            **extra}


# ---- the architectures ---------------------------------------------------------------------


def llama() -> Model:
    n_layer, n_head, n_head_kv, n_ff = 2, 4, 2, 96
    head_dim = N_EMBD // n_head

    def build(w: Weights) -> None:
        embeddings(w, tied=False)
        for i in range(n_layer):
            attention(w, f"blk.{i}", n_head, n_head_kv, head_dim)
            w.norm(f"blk.{i}.ffn_norm.weight", N_EMBD)
            dense_ffn(w, f"blk.{i}", n_ff)

    meta = base_metadata(n_layer, n_head, n_head_kv, n_ff, **{
        "rope.dimension_count": head_dim, "rope.freq_base": 10000.0})
    return Model("llama", "llama", meta, build, "control: GQA, SwiGLU, untied head")


def qwen(name: str, arch: str, qkv_bias: bool, qk_norm: bool, head_dim: int, tied: bool,
         description: str, moe: dict | None = None) -> Model:
    """qwen2 / qwen3 / qwen2moe / qwen3moe: one pre-norm block shape, differing in QKV bias,
    QK-norm, head size and the FFN (dense, or routed experts with an optional gated shared
    expert)."""
    n_layer, n_head, n_head_kv, n_ff = 2, 4, 2, 96

    def build(w: Weights) -> None:
        embeddings(w, tied=tied)
        for i in range(n_layer):
            blk = f"blk.{i}"
            attention(w, blk, n_head, n_head_kv, head_dim, qkv_bias=qkv_bias, qk_norm=qk_norm)
            w.norm(f"{blk}.ffn_norm.weight", N_EMBD)
            if moe is None:
                dense_ffn(w, blk, n_ff)
                continue
            routed_experts(w, blk, moe["expert_count"], moe["expert_feed_forward_length"])
            if "expert_shared_feed_forward_length" in moe:
                dense_ffn(w, blk, moe["expert_shared_feed_forward_length"], suffix="_shexp")
                # ne [n_embd]: one sigmoid gate logit per token scales the shared expert
                w.normal(f"{blk}.ffn_gate_inp_shexp.weight", (N_EMBD,), 1.0 / np.sqrt(N_EMBD))

    extra = {"rope.freq_base": 1000000.0}
    if head_dim != N_EMBD // n_head:
        extra |= {"attention.key_length": head_dim, "attention.value_length": head_dim}
    meta = base_metadata(n_layer, n_head, n_head_kv, n_ff, **extra, **(moe or {}))
    return Model(name, arch, meta, build, description)


def gemma3() -> Model:
    """Six layers so that llama.cpp's fixed pattern (every sixth layer global, the others
    sliding with RoPE base 10000) has both kinds; a window of 8 makes 64 positions leave it."""
    n_layer, n_head, n_head_kv, n_ff, head_dim = 6, 4, 2, 96, 32

    def build(w: Weights) -> None:
        embeddings(w, tied=True)
        for i in range(n_layer):
            blk = f"blk.{i}"
            attention(w, blk, n_head, n_head_kv, head_dim, qk_norm=True)
            w.norm(f"{blk}.post_attention_norm.weight", N_EMBD)
            w.norm(f"{blk}.ffn_norm.weight", N_EMBD)
            dense_ffn(w, blk, n_ff)
            w.norm(f"{blk}.post_ffw_norm.weight", N_EMBD)

    meta = base_metadata(n_layer, n_head, n_head_kv, n_ff, **{
        "attention.key_length": head_dim, "attention.value_length": head_dim,
        "attention.sliding_window": 8, "rope.freq_base": 1000000.0,
        "attention.layer_norm_rms_epsilon": 1e-6})
    return Model("gemma3", "gemma3", meta, build,
                 "5 sliding (window 8, RoPE 1e4) + 1 global (RoPE 1e6) layers, QK-norm, "
                 "post-attn/post-FFN norms, GELU FFN, x*sqrt(n_embd) embedding, tied head")


def deepseek2(name: str, q_lora_rank: int, yarn: bool = False) -> Model:
    """MLA attention in llama.cpp's absorbed layout (attn_k_b / attn_v_b, KV cache = latent +
    RoPE key), one leading dense layer, then MoE layers with a shared expert and V3 routing:
    sigmoid scores + exp_probs_b bias for selection, 2 of 4 expert groups (group score = sum of
    its top two biased scores), top-2 experts, weights renormalised and scaled by 2.

    q_lora_rank 0 is the V2-Lite shape (plain attn_q). llama.cpp only skips the q_lora_rank key
    for 26/27-layer files, so the key is written, as 0.

    yarn adds DeepSeek-V3's context extension: YaRN RoPE stretched 4x from 32 trained positions
    (so the 64 test positions go past them) with mscale_all_dim 1, which scales the softmax."""
    n_layer, n_head, n_ff = 3, 4, 96
    # all different, so that a swapped dimension cannot go unnoticed: MLA key 32 + 16 = 48,
    # value 40, latent 64, so the cached key length is 64 + 16 = 80
    qk_nope, qk_rope, v_head, kv_lora = 32, 16, 40, 64
    n_expert, n_ff_exp = 8, 32
    k_head = qk_nope + qk_rope

    def build(w: Weights) -> None:
        embeddings(w, tied=False)
        for i in range(n_layer):
            blk = f"blk.{i}"
            w.norm(f"{blk}.attn_norm.weight", N_EMBD)
            if q_lora_rank:
                w.matrix(f"{blk}.attn_q_a.weight", q_lora_rank, N_EMBD)
                w.norm(f"{blk}.attn_q_a_norm.weight", q_lora_rank)
                w.matrix(f"{blk}.attn_q_b.weight", n_head * k_head, q_lora_rank)
            else:
                w.matrix(f"{blk}.attn_q.weight", n_head * k_head, N_EMBD)
            w.matrix(f"{blk}.attn_kv_a_mqa.weight", kv_lora + qk_rope, N_EMBD)
            w.norm(f"{blk}.attn_kv_a_norm.weight", kv_lora)
            # ne [qk_nope, kv_lora, n_head]: per head, latent -> k_nope (applied transposed to q)
            w.normal(f"{blk}.attn_k_b.weight", (n_head, kv_lora, qk_nope), 1.0 / np.sqrt(kv_lora))
            # ne [kv_lora, v_head, n_head]: per head, latent -> v
            w.normal(f"{blk}.attn_v_b.weight", (n_head, v_head, kv_lora), 1.0 / np.sqrt(kv_lora))
            w.matrix(f"{blk}.attn_output.weight", N_EMBD, n_head * v_head)
            w.norm(f"{blk}.ffn_norm.weight", N_EMBD)
            if i == 0:
                dense_ffn(w, blk, n_ff)
                continue
            routed_experts(w, blk, n_expert, n_ff_exp)
            w.normal(f"{blk}.exp_probs_b.bias", (n_expert,), 0.2)
            dense_ffn(w, blk, n_ff_exp, suffix="_shexp")

    meta = base_metadata(n_layer, n_head, 1, n_ff, **{
        "attention.key_length": kv_lora + qk_rope, "attention.value_length": kv_lora,
        "attention.key_length_mla": k_head, "attention.value_length_mla": v_head,
        "attention.q_lora_rank": q_lora_rank, "attention.kv_lora_rank": kv_lora,
        "rope.dimension_count": qk_rope, "rope.freq_base": 10000.0,
        "leading_dense_block_count": 1, "expert_count": n_expert, "expert_used_count": 2,
        "expert_shared_count": 1, "expert_feed_forward_length": n_ff_exp,
        "expert_group_count": 4, "expert_group_used_count": 2, "expert_weights_scale": 2.0,
        "expert_weights_norm": True, "expert_gating_func": 2})  # 2 = sigmoid
    if yarn:  # the converter writes 0.1 * mscale_all_dim as yarn_log_multiplier
        meta |= {"rope.scaling.type": "yarn", "rope.scaling.factor": 4.0,
                 "rope.scaling.original_context_length": 32,
                 "rope.scaling.yarn_log_multiplier": 0.1}
    q_path = f"q_lora rank {q_lora_rank}" if q_lora_rank else "no q_lora (plain attn_q)"
    rope = "YaRN 4x rope 16" if yarn else "rope 16"
    return Model(name, "deepseek2", meta, build,
                 f"MLA ({q_path}, kv_lora 64, {rope}), 1 dense + 2 MoE layers, V3 routing")


def all_models() -> list[Model]:
    qwen2moe_ffn = {"expert_count": 8, "expert_used_count": 2, "expert_feed_forward_length": 32,
                    "expert_shared_feed_forward_length": 64}
    qwen3moe_ffn = {"expert_count": 8, "expert_used_count": 2, "expert_feed_forward_length": 32}
    return [
        llama(),
        qwen("qwen2", "qwen2", qkv_bias=True, qk_norm=False, head_dim=16, tied=False,
             description="QKV bias, NEOX RoPE"),
        qwen("qwen3", "qwen3", qkv_bias=False, qk_norm=True, head_dim=32, tied=True,
             description="QK-norm, head_dim 32 != n_embd/n_head, tied head"),
        qwen("qwen2moe", "qwen2moe", qkv_bias=True, qk_norm=False, head_dim=16, tied=False,
             description="softmax top-2 of 8 (not renormalised) + sigmoid-gated shared expert",
             moe=qwen2moe_ffn),
        qwen("qwen3moe", "qwen3moe", qkv_bias=False, qk_norm=True, head_dim=32, tied=False,
             description="QK-norm, softmax top-2 of 8 renormalised, no shared expert",
             moe=qwen3moe_ffn),
        gemma3(),
        deepseek2("deepseek2", q_lora_rank=96),
        deepseek2("deepseek2-lite", q_lora_rank=0),
        deepseek2("deepseek2-yarn", q_lora_rank=96, yarn=True),
    ]


# ---- writing -------------------------------------------------------------------------------


def copy_vocabulary(writer: gguf.GGUFWriter) -> None:
    reader = gguf.GGUFReader(VOCAB_SOURCE)

    def array(key):
        return reader.fields[key].contents()

    def scalar(key):
        return int(reader.fields[key].contents())

    tokens = array("tokenizer.ggml.tokens")
    if len(tokens) != N_VOCAB:
        sys.exit(f"make_tiny_models: {VOCAB_SOURCE} has {len(tokens)} tokens, expected {N_VOCAB}")
    writer.add_tokenizer_model(reader.fields["tokenizer.ggml.model"].contents())
    writer.add_token_list(tokens)
    writer.add_token_scores(array("tokenizer.ggml.scores"))
    writer.add_token_types(array("tokenizer.ggml.token_type"))
    writer.add_unk_token_id(scalar("tokenizer.ggml.unknown_token_id"))
    writer.add_bos_token_id(scalar("tokenizer.ggml.bos_token_id"))
    writer.add_eos_token_id(scalar("tokenizer.ggml.eos_token_id"))


def add_metadata(writer: gguf.GGUFWriter, arch: str, metadata: dict) -> None:
    for key, value in metadata.items():
        full_key = f"{arch}.{key}"
        if isinstance(value, str):
            writer.add_string(full_key, value)
        elif isinstance(value, bool):
            writer.add_bool(full_key, value)
        elif isinstance(value, int):
            writer.add_uint32(full_key, value)
        else:
            writer.add_float32(full_key, value)


def stored_form(name: str, values: np.ndarray, quant: gguf.GGMLQuantizationType):
    """Returns (array, raw_dtype): quantizes matrices and expert stacks; vectors (norms, biases)
    and routers stay F32, as in llama.cpp's quantized files."""
    if quant == gguf.GGMLQuantizationType.F32 or values.ndim < 2 or name.endswith(KEEP_F32_SUFFIXES):
        return values, None
    block = gguf.GGML_QUANT_SIZES[quant][0]
    assert values.shape[-1] % block == 0, f"{name}: ne0 {values.shape[-1]} not a multiple of {block}"
    return gguf.quants.quantize(values, quant), quant


def write_model(model: Model, type_name: str, out_dir: pathlib.Path) -> pathlib.Path:
    quant, file_type = QUANT_TYPES[type_name]
    weights = Weights(model.name)
    model.build(weights)
    path = out_dir / f"{model.name}.{type_name}.gguf"
    writer = gguf.GGUFWriter(path, model.arch)
    writer.add_name(f"tiny-{model.name}")
    writer.add_file_type(file_type)
    add_metadata(writer, model.arch, model.metadata)
    copy_vocabulary(writer)
    for name, values in weights.tensors.items():
        data, raw_dtype = stored_form(name, values, quant)
        writer.add_tensor(name, data, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main() -> None:
    models = {m.name: m for m in all_models()}
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, help="output directory (created)")
    parser.add_argument("--only", nargs="+", choices=sorted(models), help="models to write")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args()
    if args.list:
        for m in models.values():
            print(f"{m.name:16} {m.arch:10} {m.description}")
        return
    if args.out is None:
        parser.error("--out is required")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or models:
        for type_name in QUANT_TYPES:
            path = write_model(models[name], type_name, args.out)
            print(f"{path} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
