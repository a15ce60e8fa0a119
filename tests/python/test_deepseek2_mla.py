"""DeepSeek's multi-head latent attention beyond logit agreement (test_archs_vs_llamacpp.py):
what the KV cache stores per token, as `matrixserve inspect` reports it, against the model's
metadata; sequences batched together by the server decode as they do alone (their latents
share the block pool); and the error for files in the old attn_kv_b layout. MLA (deepseek2) must cache only the normalised latent and the RoPE key:
(kv_lora_rank + rope dims) x layers x 4 bytes (F32), reported beside what full multi-head
attention would need, n_head x (key + value head dims) x layers x 4. Grouped-query attention
(llama) caches keys and values of its KV heads only."""
import dataclasses
import importlib.util
import json
import concurrent.futures
import re
import subprocess
import sys

import gguf
import numpy as np
import pytest
from conftest import ROOT
from server_fixtures import Server

SCRIPT = ROOT / "scripts" / "make_tiny_models.py"
F32_BYTES = 4
LINE = re.compile(r"kv cache: (\d+) bytes per token \(F32, (\d+) layers\); "
                  r"full multi-head attention: (\d+) bytes per token")


def load_script():
    spec = importlib.util.spec_from_file_location("make_tiny_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("kv_models")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--only", "deepseek2",
                    "deepseek2-lite", "qwen2moe", "llama"], check=True, capture_output=True,
                   timeout=300)
    return out


def metadata(path):
    reader = gguf.GGUFReader(path)
    arch = reader.fields["general.architecture"].contents()
    return lambda key: int(reader.fields[f"{arch}.{key}"].contents())


def inspect_kv(binary, path):
    out = subprocess.run([str(binary), "inspect", str(path)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    match = LINE.search(out)
    assert match, f"no kv cache line in inspect output:\n{out}"
    return tuple(int(g) for g in match.groups())


@pytest.mark.parametrize("name", ["deepseek2", "deepseek2-lite"])
def test_mla_caches_only_latent_and_rope_key(models, binary, report, name):
    key = metadata(models / f"{name}.F32.gguf")
    stored, layers, full = inspect_kv(binary, models / f"{name}.F32.gguf")
    n_layer = key("block_count")
    assert layers == n_layer
    latent, rope = key("attention.kv_lora_rank"), key("rope.dimension_count")
    assert stored == (latent + rope) * n_layer * F32_BYTES
    head_k, head_v = key("attention.key_length_mla"), key("attention.value_length_mla")
    assert full == key("attention.head_count") * (head_k + head_v) * n_layer * F32_BYTES
    assert stored < full
    report(f"MLA {name}: KV {stored} bytes/token (({latent} latent + {rope} rope) x {n_layer} "
           f"layers x 4), full MHA {full} bytes/token ({full / stored:.1f}x)")


def test_grouped_query_attention_caches_its_kv_heads(models, binary):
    key = metadata(models / "llama.F32.gguf")
    stored, layers, full = inspect_kv(binary, models / "llama.F32.gguf")
    head_dim = key("embedding_length") // key("attention.head_count")
    per_layer_kv = 2 * head_dim * F32_BYTES
    assert stored == key("attention.head_count_kv") * per_layer_kv * layers
    assert full == key("attention.head_count") * per_layer_kv * layers


def test_old_attn_kv_b_layout_asks_for_reconversion(tmp_path, binary):
    """Files converted before llama.cpp split attn_kv_b into attn_k_b and attn_v_b (and wrote
    key_length_mla) cannot use the compressed cache as stored: a clear error, not a crash."""
    tiny = load_script()
    model = tiny.deepseek2("deepseek2", q_lora_rank=96)

    def build_old_layout(weights):
        model.build(weights)
        for layer in range(model.metadata["block_count"]):
            k_b = weights.tensors.pop(f"blk.{layer}.attn_k_b.weight")  # (head, latent, nope)
            v_b = weights.tensors.pop(f"blk.{layer}.attn_v_b.weight")  # (head, v, latent)
            per_head = [[k.T, v] for k, v in zip(k_b, v_b)]
            weights.tensors[f"blk.{layer}.attn_kv_b.weight"] = \
                np.concatenate([np.concatenate(pair) for pair in per_head])

    old = dataclasses.replace(
        model, name="deepseek2-old", build=build_old_layout,
        metadata={k: v for k, v in model.metadata.items() if not k.endswith("_mla")})
    path = tiny.write_model(old, "F32", tmp_path)
    result = subprocess.run([str(binary), "logits", "-m", str(path), "--tokens", "1,2,3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode > 0, result.stderr
    assert "attn_kv_b" in result.stderr and "reconvert" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["deepseek2", "qwen2moe"])
def test_batched_sequences_decode_as_alone(models, binary, name):
    """Four greedy completions sent at once (one batch: MLA latents and routed experts of
    several sequences per step) equal the same completions sent one at a time."""
    prompts = ["Once upon a time", "The little dog", "She said hello to", "It was a sunny"]
    server = Server(binary, models / f"{name}.F32.gguf", "--max-running", 4, "-t", 2,
                    api_keys=None)
    try:
        client = server.client()

        def complete(prompt):
            response = client.completions.create(model=server.model, prompt=prompt,
                                                 max_tokens=24, temperature=0)
            return response.choices[0].text

        alone = [complete(p) for p in prompts]
        with concurrent.futures.ThreadPoolExecutor(len(prompts)) as pool:
            together = list(pool.map(complete, prompts))
    finally:
        assert server.stop() == 0
    assert len(set(alone)) == len(prompts), alone
    assert together == alone


def test_multi_token_prediction_layers_are_not_run(models, tmp_path, binary):
    """block_count includes nextn_predict_layers trailing MTP blocks (for speculative drafting,
    as llama.cpp reads them): a file declaring one, without its tensors, gives the trunk's
    logits."""
    tiny = load_script()
    model = tiny.deepseek2("deepseek2", q_lora_rank=96)
    meta = dict(model.metadata, block_count=model.metadata["block_count"] + 1,
                nextn_predict_layers=1)
    # same name, so the same seeded weights as the plain file
    path = tiny.write_model(dataclasses.replace(model, metadata=meta), "F32", tmp_path)
    tokens = "1,17,300,42,9"
    logits = {}
    for file in (path, models / "deepseek2.F32.gguf"):
        out = tmp_path / f"{len(logits)}.f32"
        subprocess.run([str(binary), "logits", "-m", str(file), "--tokens", tokens, "-o",
                        str(out)], check=True, capture_output=True, timeout=60)
        logits[file] = np.fromfile(out, dtype=np.float32)
    assert np.array_equal(*logits.values())


def test_simulator_reads_mla_shapes_from_gguf(models, tmp_path, binary):
    """The simulator takes a GGUF model's shapes from the reader the model is built from, MLA
    included (model::HParams): a deepseek2 file simulates, and its nextn_predict_layers block is
    an MTP layer a deployment may draft with, not a trunk layer."""
    tiny = load_script()
    model = tiny.deepseek2("deepseek2", q_lora_rank=96)
    meta = dict(model.metadata, block_count=model.metadata["block_count"] + 1,
                nextn_predict_layers=1)
    path = tiny.write_model(dataclasses.replace(model, metadata=meta), "F32", tmp_path)
    deployment = tmp_path / "sim.yaml"
    deployment.write_text(
        f"hardware: host\nmodel: {{gguf: {path}}}\nmtp: {{layers: 1, acceptance: 0.5}}\n"
        "pools:\n  decode: {devices: 1, attention: {dp: 1}, moe: {ep: 1}, batch_per_group: 2}\n"
        "workload: {requests: 4, input_tokens: 8, output_tokens: 8}\n")
    out = subprocess.run([str(binary), "simulate", str(deployment), "--json"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert json.loads(out)["finished"] == 4
    deployment.write_text(deployment.read_text().replace("layers: 1,", "layers: 2,"))
    refused = subprocess.run([str(binary), "simulate", str(deployment)], capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode != 0 and "has 1 MTP layers" in refused.stderr, refused.stderr
