"""Expert parallelism (issue 5): a MoE layer's router runs with its attention in the front end and
its routed experts in other workers (attention | experts 0-1 | experts 2-3), reached through the
expert exchange. Greedy tokens must equal the colocated ones over every transport and on every
MoE architecture; with INT8 rows in transit, teacher-forced top-1 must agree >= 99%."""
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED_MODELS, run_json
from test_split_deployment import (UCX_ON_LOOPBACK, children_of, deployment, greedy, has_ucx,  # noqa: F401
                                   shm_prefix, start_long_generation)

STORIES = SHARED_MODELS / "stories260K"
MOE_MODELS = [STORIES / "stories260K-moe4x2.gguf", STORIES / "stories260K-moe4x2-perturbed.gguf"]
EXAMPLES = ROOT / "deploy" / "runtime"
ROUTER = "[embedding, attention, head]"
# Tiny random-weight MoE models (scripts/make_tiny_models.py), 8 experts each; DeepSeek's layer 0
# is a dense FFN (it stays with the attention) and its shared expert runs with the router.
TINY = {"qwen2moe": ("Q8_0", None), "qwen3moe": ("Q8_0", None), "deepseek2": ("Q8_0", [1, 2])}
# BOS, then seeded random ids past the control tokens: 128 positions, so one miss is < 1%.
TEACHER_TOKENS = [1] + [int(t) for t in np.random.default_rng(7).integers(3, 512, 127)]


def three_workers(tmp_path, transport, prefix, experts=([0, 1], [2, 3]), layers=None, router=ROUTER):
    narrow = f"layers: {layers}, " if layers else ""
    return deployment(tmp_path, transport, prefix, {
        "attention": router,
        **{f"experts-{i}": f"[{{moe: {{{narrow}experts: {ids}}}}}]" for i, ids in enumerate(experts)}})


@pytest.mark.parametrize("transport", ["inproc", "shm", "ucx"])
@pytest.mark.parametrize("model", MOE_MODELS, ids=lambda m: m.stem)
def test_experts_over_two_workers_give_the_colocated_tokens(binary, tmp_path, shm_prefix, model,
                                                            transport):
    if transport == "ucx" and not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    colocated = greedy(binary, model)
    assert len(colocated) == 24
    assert greedy(binary, model, "--deployment",
                  three_workers(tmp_path, transport, shm_prefix)) == colocated


@pytest.mark.parametrize("example", ["attention-experts.shm.yaml", "redundant-experts.shm.yaml"])
def test_example_files_give_the_colocated_tokens(binary, example):
    model = MOE_MODELS[1]
    assert greedy(binary, model, "--deployment", EXAMPLES / example) == greedy(binary, model)


@pytest.fixture(scope="module")
def tiny_moe_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_moe")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_tiny_models.py"), "--out", str(out),
                    "--only", *TINY], check=True, capture_output=True, timeout=300)
    return out


@pytest.mark.parametrize("name", TINY)
def test_tiny_moe_architectures_give_the_colocated_tokens(binary, tmp_path, shm_prefix,
                                                          tiny_moe_models, name):
    quant, moe_layers = TINY[name]
    model = tiny_moe_models / f"{name}.{quant}.gguf"
    router = ROUTER if moe_layers is None else "[embedding, attention, {ffn: {layers: [0]}}, head]"
    split = three_workers(tmp_path, "shm", shm_prefix, ([0, 1, 2, 3], [4, 5, 6, 7]), moe_layers,
                          router)
    colocated = greedy(binary, model)
    assert greedy(binary, model, "--deployment", split) == colocated


def teacher_forced(binary, model, out: pathlib.Path, *extra) -> np.ndarray:
    run_json([binary, "logits", "-m", model, "--tokens", ",".join(map(str, TEACHER_TOKENS)),
              "-t", 1, "-o", out, *extra])
    return np.fromfile(out, dtype=np.float32).reshape(len(TEACHER_TOKENS), -1)


@pytest.mark.parametrize("model", MOE_MODELS, ids=lambda m: m.stem)
def test_int8_in_the_expert_exchange_keeps_top1(binary, tmp_path, model, report):
    colocated = teacher_forced(binary, model, tmp_path / "colocated.bin")
    int8 = teacher_forced(binary, model, tmp_path / "int8.bin", "--deployment",
                          EXAMPLES / "redundant-experts.shm.yaml")
    misses = np.flatnonzero(colocated.argmax(axis=1) != int8.argmax(axis=1))
    agree = 1 - len(misses) / len(TEACHER_TOKENS)
    top2 = np.sort(colocated, axis=1)[:, -2:]
    margins = top2[misses, 1] - top2[misses, 0]
    max_diff = np.abs(colocated - int8).max()
    near_ties = ", ".join(f"{m:.3f}" for m in margins)
    report(f"{model.stem}: INT8 expert exchange (redundant-experts.shm.yaml), teacher-forced over "
           f"{len(TEACHER_TOKENS)} tokens: top-1 agreement {agree:.1%} (misses at colocated top-2 "
           f"margins {near_ties}), max |logit diff| {max_diff:.3g}")
    assert max_diff > 0, "the rows did not travel as INT8"
    assert agree >= 0.99
    assert np.all(margins < 0.1), "a miss that is not a near-tie"


def test_a_killed_expert_worker_ends_the_front_end_with_a_clear_error(binary, tmp_path, shm_prefix):
    front, _ = start_long_generation(binary, MOE_MODELS[0], three_workers(tmp_path, "shm", shm_prefix))
    workers = children_of(front.pid)
    assert len(workers) == 2
    os.kill(workers[-1], signal.SIGKILL)
    try:
        _, err = front.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        front.kill()
        pytest.fail("the front end hangs after an expert worker was killed")
    assert front.returncode == 1
    assert "worker experts-" in err and ".moe experts:" in err and "gone" in err, err


def test_experts_in_the_front_end_beside_expert_workers_are_refused(binary, tmp_path, shm_prefix):
    split = three_workers(tmp_path, "shm", shm_prefix, ([2, 3],),
                          router="[embedding, attention, head, {moe: {experts: [0, 1]}}]")
    out = subprocess.run([str(binary), "generate", "-m", str(MOE_MODELS[0]), "--tokens", "1,400", "-n", "2",
                          "--deployment", str(split)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "the front end attention/0 holds experts of expert-parallel layer 0" in out.stderr, out.stderr
