"""`matrixserve bench --sequences`: batched decode of N sequences, one token of each per step,
colocated and split (attention | ffn over shm), with the per-step costs bench/split_bench.py
tabulates. Speed is not asserted, only that the figures are consistent."""
import subprocess

import pytest

from conftest import run_json
from test_split_deployment import STORIES, attention_ffn, shm_prefix  # noqa: F401

N_LAYER = 5  # stories260K


def decode_bench(binary, *extra):
    return run_json([binary, "bench", "-m", STORIES, "--sequences", "1,4", "-n", 4, "--prefill", 8,
                     "-r", 2, "-t", 1, "--threads-list", 1, "--json", *extra])


def check_rows(rows):
    assert [(r["test"], r["sequences"]) for r in rows] == [("tg4x1", 1), ("tg4x4", 4)]
    for r in rows:
        assert len(r["samples"]) == 2 and all(s > 0 for s in r["samples"])
        assert min(r["samples"]) <= r["tokens_per_s"] <= max(r["samples"])
        assert r["ms_per_step"] == pytest.approx(1e3 * r["sequences"] / r["tokens_per_s"])


def slowest_step_ms(row):
    """Per-step costs are means over the repetitions: at most the slowest repetition's step."""
    return 1e3 * row["sequences"] / min(row["samples"])


def test_colocated_decode_rows_with_unit_times(binary):
    rows = decode_bench(binary, "--unit-times")
    check_rows(rows)
    for r in rows:
        assert "transport" not in r and "deployment" not in r
        units = r["unit_ms_per_step"]
        assert set(units) == {"embed", "attn", "ffn", "head"}
        assert all(ms > 0 for ms in units.values())
        assert sum(units.values()) <= slowest_step_ms(r)


def test_colocated_decode_rows_without_unit_times_have_none(binary):
    rows = decode_bench(binary)
    check_rows(rows)
    assert all(r["unit_ms_per_step"] == {} for r in rows)


def test_split_decode_rows_report_transport_per_step(binary, tmp_path, shm_prefix):
    path = attention_ffn(tmp_path, "shm", shm_prefix)
    rows = decode_bench(binary, "--deployment", path)
    check_rows(rows)
    for r in rows:
        assert r["deployment"] == str(path)
        # Each layer's FFN is one request to the worker and one reply, per step.
        assert r["transport"]["messages_per_step"] == 2 * N_LAYER
        assert 0 < r["transport"]["ms_per_step"] <= slowest_step_ms(r)
        assert r["unit_ms_per_step"]["ffn"] > 0  # the proxies' round trips
    one, four = (r["transport"]["mb_per_step"] for r in rows)
    # Four tokens' activations (64 floats each way) and batch fields instead of one.
    assert four - one >= 3 * 2 * N_LAYER * 64 * 4 / 1e6


def test_dp_groups_step_their_own_sequences(binary, tmp_path, shm_prefix):
    """With 2 DP groups the 4 sequences are dealt to both groups, each sending its own requests;
    one sequence goes to one group."""
    path = attention_ffn(tmp_path, "shm", shm_prefix)
    path.write_text("attention: {dp: 2}\n" + path.read_text())
    rows = decode_bench(binary, "--deployment", path)
    check_rows(rows)
    one, four = (r["transport"]["messages_per_step"] for r in rows)
    assert one == 2 * N_LAYER
    assert four == 2 * 2 * N_LAYER


def test_sequences_need_decode_steps(binary):
    out = subprocess.run([str(binary), "bench", "-m", str(STORIES), "--sequences", "2", "-n", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "--sequences needs decode steps" in out.stderr
