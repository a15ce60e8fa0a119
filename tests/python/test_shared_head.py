"""A head shared between workers (`{head: {vocab_share: ...}}`, issue 5): each holder computes the
logits of its own rows of the vocabulary. The logits must be bitwise the colocated ones whatever
the cut, and a bad share is a clear error."""
import subprocess

import numpy as np
import pytest

from conftest import run_json
from test_split_deployment import STORIES, UCX_ON_LOOPBACK, deployment, greedy, has_ucx, shm_prefix  # noqa: F401

TOKENS = ["--tokens", "1,400,261,370,272,414,276,356,426,346,397"]

PLACEMENTS = {
    # The front end and the FFN worker, cut unevenly (stories260K: rows 0-127 | 128-511).
    "front-and-ffn": {"attention": "[embedding, attention, {head: {vocab_share: 0.3}}]",
                      "ffn": "[ffn, {head: {vocab_share: 0.7}}]"},
    # Three holders, one of them a worker with nothing but its part of the head.
    "three-holders": {"attention": "[embedding, attention, {head: {vocab_share: 0.25}}]",
                      "ffn": "[ffn, {head: {vocab_share: 0.5}}]",
                      "lm": "[{head: {vocab_share: 0.25}}]"},
    # No part in the front end: it only joins the workers' logits.
    "workers-only": {"attention": "[embedding, attention]",
                     "ffn": "[ffn, {head: {vocab_share: 0.5}}]",
                     "lm": "[{head: {vocab_share: 0.5}}]"},
}


def logits(binary, model, out, *extra) -> np.ndarray:
    run_json([binary, "logits", "-m", model, *TOKENS, "-t", 1, "-o", out, *extra], env=UCX_ON_LOOPBACK)
    return np.fromfile(out, dtype=np.float32)


@pytest.mark.parametrize("transport", ["shm", "inproc", "ucx"])
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_a_shared_head_gives_bitwise_the_colocated_logits(binary, tmp_path, shm_prefix, placement,
                                                          transport):
    if transport == "ucx" and not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    colocated = logits(binary, STORIES, tmp_path / "colocated.bin")
    path = deployment(tmp_path, transport, shm_prefix, PLACEMENTS[placement])
    shared = logits(binary, STORIES, tmp_path / "shared.bin", "--deployment", path)
    assert colocated.size == 11 * 512
    assert np.array_equal(shared, colocated)


def test_smollm2_greedy_tokens_with_a_shared_head(binary, model_path, tmp_path, shm_prefix):
    path = deployment(tmp_path, "shm", shm_prefix, PLACEMENTS["front-and-ffn"])
    assert greedy(binary, model_path, "--deployment", path) == greedy(binary, model_path)


def check(binary, path) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "deployment", "check", "-m", STORIES, "--deployment", path],
                          capture_output=True, text=True, timeout=60)


def test_deployment_check_shows_each_holders_rows(binary, tmp_path, shm_prefix):
    out = check(binary, deployment(tmp_path, "shm", shm_prefix, PLACEMENTS["three-holders"]))
    assert out.returncode == 0, out.stderr
    assert "head shared by vocabulary rows: attention/0 0-127, ffn/0 128-383, lm/0 384-511" in out.stdout


def test_shares_that_do_not_add_up_are_a_clear_error(binary, tmp_path, shm_prefix):
    path = deployment(tmp_path, "shm", shm_prefix,
                      {"attention": "[embedding, attention, {head: {vocab_share: 0.5}}]",
                       "ffn": "[ffn, {head: {vocab_share: 0.6}}]"})
    out = check(binary, path)
    assert out.returncode != 0
    assert "the head's vocab_share values add up to 1.1, not 1" in out.stderr
    generate = subprocess.run([binary, "generate", "-m", STORIES, *TOKENS, "-n", "1", "--deployment",
                               path], capture_output=True, text=True, timeout=60)
    assert generate.returncode != 0 and "vocab_share" in generate.stderr
