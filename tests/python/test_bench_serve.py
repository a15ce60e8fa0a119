"""`matrixserve bench-serve` against a running `matrixserve serve`: the JSON report has sane
figures and no failures, on both endpoints and with a prompts file; a wrong API key or a server
that is down ends with a clear error and a non-zero exit."""
import json
import subprocess

import pytest

from server_fixtures import API_KEYS, Server, free_port


@pytest.fixture(scope="module")
def server(binary, model_path):
    srv = Server(binary, model_path, "--max-running", 8, "-t", 2)
    yield srv
    assert srv.stop() == 0, srv.log_text()


def bench(binary, url, model, *extra):
    return subprocess.run([str(binary), "bench-serve", "--url", url, "--model", model, *map(str, extra)],
                          capture_output=True, text=True, timeout=300)


def bench_json(binary, server, tmp_path, *extra) -> dict:
    out = tmp_path / "bench.json"
    run = bench(binary, f"http://{server.host}:{server.port}", server.model, "--api-key", API_KEYS[1],
                "--json", out, *extra)
    assert run.returncode == 0, run.stderr
    assert "Successful requests:" in run.stdout and "TPOT" in run.stdout
    return json.loads(out.read_text())


def check_request_figures(doc):
    for r in doc["requests"]:
        assert r["success"], r
        assert 0 < r["ttft_s"] <= r["e2e_s"]
        assert r["tokens_from_usage"]
        assert len(r["itl_s"]) <= r["output_tokens"] - 1
        assert all(gap >= 0 for gap in r["itl_s"])


def test_completions_report(binary, server, tmp_path, report):
    doc = bench_json(binary, server, tmp_path, "--num-prompts", 6, "--max-concurrency", 3,
                     "--input-len", 32, "--output-len", 8, "--slo", "ttft=600000,tpot=600000")
    assert doc["completed"] == 6 and doc["failed"] == 0
    assert doc["total_output_tokens"] == 6 * 8  # ignore_eos: exactly max_tokens each
    assert 0.8 * 6 * 32 <= doc["total_input_tokens"] <= 1.2 * 6 * 32  # a word is about a token
    assert doc["duration_s"] > 0
    assert doc["output_throughput"] == pytest.approx(doc["total_output_tokens"] / doc["duration_s"])
    assert doc["request_throughput"] == pytest.approx(6 / doc["duration_s"])
    assert doc["good_requests"] == 6 and doc["goodput"] == pytest.approx(doc["request_throughput"])
    for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        d = doc[metric]
        assert 0 < d["p50"] <= d["p90"] <= d["p99"], (metric, d)
        assert d["mean"] > 0
    assert doc["e2e_ms"]["p50"] >= doc["ttft_ms"]["p50"]
    check_request_figures(doc)
    report(f"bench-serve smoke (6 prompts, concurrency 3, 32/8 tokens): "
           f"{doc['output_throughput']:.1f} output tok/s, TPOT p50 {doc['tpot_ms']['p50']:.1f} ms")


def test_chat_with_poisson_arrivals(binary, server, tmp_path):
    doc = bench_json(binary, server, tmp_path, "--endpoint", "/v1/chat/completions", "--num-prompts", 4,
                     "--request-rate", 20, "--seed", 5, "--input-len", 16, "--output-len", 6,
                     "--range-ratio", 0.5)
    assert doc["completed"] == 4 and doc["failed"] == 0
    assert doc["config"]["request_rate"] == 20
    starts = [r["start_s"] for r in doc["requests"]]
    assert starts == sorted(starts) and starts[-1] > 0  # spread out, not all at once
    check_request_figures(doc)


def test_prompts_file(binary, server, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": "Once upon a time", "max_tokens": 5}) + "\n" +
                       json.dumps({"prompt": "The capital of France is"}) + "\n")
    doc = bench_json(binary, server, tmp_path, "--prompts-file", prompts, "--output-len", 7)
    assert doc["completed"] == 2 and doc["failed"] == 0
    assert sorted(r["output_tokens"] for r in doc["requests"]) == [5, 7]


def test_wrong_api_key_fails_clearly(binary, server):
    run = bench(binary, f"http://{server.host}:{server.port}", server.model, "--api-key", "sk-wrong",
                "--num-prompts", 2)
    assert run.returncode != 0
    assert "HTTP 401" in run.stderr, run.stderr


def test_server_down_fails_clearly(binary):
    run = bench(binary, f"http://127.0.0.1:{free_port()}", "any", "--num-prompts", 2)
    assert run.returncode != 0
    assert "cannot connect" in run.stderr, run.stderr
