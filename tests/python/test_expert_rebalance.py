"""Expert load statistics and live rebalancing under `matrixserve serve` (issue 5): the router
counts tokens per expert per layer (GET /v1/experts, /metrics), and POST /v1/experts/rebalance
moves or copies experts between expert workers while requests run, without a failed request or a
changed greedy output."""
import concurrent.futures
import json
import os
import pathlib
import signal

import pytest

from conftest import SHARED_MODELS
from server_fixtures import Server, error_of
from test_split_deployment import deployment, shm_prefix  # noqa: F401

MODEL = SHARED_MODELS / "stories260K" / "stories260K-moe4x2-perturbed.gguf"
PROMPTS = ["Once upon a time", "The little dog", "Tom and Sue went to the park", "One day, a bird"]
MAX_TOKENS = 24


def experts_over_two_workers(tmp_path, prefix):
    return deployment(tmp_path, "shm", prefix, {"attention": "[embedding, attention, head]",
                                                "experts-01": "[{moe: {experts: [0, 1]}}]",
                                                "experts-23": "[{moe: {experts: [2, 3]}}]"})


def complete(client, model, prompt) -> str:
    out = client.completions.create(model=model, prompt=prompt, max_tokens=MAX_TOKENS, temperature=0,
                                    extra_body={"ignore_eos": True})  # a story may end sooner
    assert out.usage.completion_tokens == MAX_TOKENS
    return out.choices[0].text


def get_json(server, method, path, body=None):
    status, _, raw = server.request(method, path, body)
    return status, json.loads(raw)


def test_the_router_counts_tokens_per_expert(binary):
    server = Server(binary, MODEL, "-t", 1, "-c", 256)
    try:
        prompt_tokens = server.client().completions.create(
            model=server.model, prompt=PROMPTS[0], max_tokens=8, temperature=0).usage.prompt_tokens
        status, stats = get_json(server, "GET", "/v1/experts")
        assert status == 200, stats
        # Every token of the prompt and the 7 decode steps picks 2 of 4 experts in each of 5 layers.
        assert [layer["layer"] for layer in stats["layers"]] == [0, 1, 2, 3, 4]
        for layer in stats["layers"]:
            assert sum(layer["tokens_per_expert"]) == layer["tokens"] == 2 * (prompt_tokens + 7)
            mean = layer["tokens"] / 4
            assert layer["skew"] == pytest.approx(max(layer["tokens_per_expert"]) / mean)
            assert layer["tokens_per_expert"][layer["hottest_expert"]] == max(layer["tokens_per_expert"])
        assert stats["worst_skew"] == max(layer["skew"] for layer in stats["layers"])
        assert "placement" not in stats  # colocated
        metrics = server.metrics()
        for layer in stats["layers"]:
            for expert, tokens in enumerate(layer["tokens_per_expert"]):
                assert metrics[f'expert_tokens_total{{layer="{layer["layer"]}",expert="{expert}"}}'] == tokens
        status, body = get_json(server, "POST", "/v1/experts/rebalance", {})
        assert status == 400
        assert "no expert-parallel layers" in body["error"]["message"]
    finally:
        assert server.stop() == 0


def test_a_dense_model_has_no_expert_endpoint(binary):
    server = Server(binary, SHARED_MODELS / "stories260K" / "stories260K.gguf", "-t", 1, "-c", 128)
    try:
        status, _, body = server.request("GET", "/v1/experts")
        assert status == 404
        assert error_of(body)["code"] == "no_experts"
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("dp_groups", [1, 2])
def test_moving_experts_under_load_keeps_every_request_and_output(binary, tmp_path, shm_prefix,
                                                                  dp_groups, report):
    """With 2 DP groups a move lands while the other group's tokens are out with the experts:
    that exchange completes under the placement it was sent with."""
    deployment = experts_over_two_workers(tmp_path, shm_prefix)
    deployment.write_text(f"attention: {{dp: {dp_groups}}}\n" + deployment.read_text())
    server = Server(binary, MODEL, "-t", 1, "-c", 512, "--max-running", 4, "--deployment",
                    deployment)
    try:
        client = server.client()
        expected = {p: complete(client, server.model, p) for p in PROMPTS}
        status, body = get_json(server, "POST", "/v1/experts/rebalance", {"moves": [
            {"layer": 0, "expert": 1, "from": "experts-01/0", "to": "experts-01/0"}]})
        assert status == 400 and "already holds it" in body["error"]["message"], body

        load = [PROMPTS[i % len(PROMPTS)] for i in range(24)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(complete, client, server.model, p) for p in load]
            futures[3].result()  # the load is running
            status, moved = get_json(server, "POST", "/v1/experts/rebalance", {"moves": [
                {"layer": 2, "expert": 1, "from": "experts-01/0", "to": "experts-23/0"},
                {"layer": 3, "expert": 3, "from": "experts-23/0", "to": "experts-01/0",
                 "kind": "replicate"}]})
            assert status == 200, moved
            assert sum(not f.done() for f in futures) >= 8, "the load ended before the move"
            futures[12].result()
            status, planned = get_json(server, "POST", "/v1/experts/rebalance", {"max_moves": 2})
            assert status == 200, planned
            outputs = [f.result() for f in futures]  # raises if any request failed
        assert outputs == [expected[p] for p in load]
        # Moves asked for after the last step of the load take effect with the next request.
        assert complete(client, server.model, PROMPTS[2]) == expected[PROMPTS[2]]

        status, stats = get_json(server, "GET", "/v1/experts")
        assert status == 200 and not stats["rebalance_pending"]
        placement = {w["worker"]: w["experts"] for w in stats["placement"]}
        assert placement == {w["worker"]: w["experts"] for w in planned["placement"]}
        if not planned["moves"]:  # the counts were already even: the explicit moves stand alone
            assert placement["experts-01/0"]["2"] == [0] and placement["experts-23/0"]["2"] == [1, 2, 3]
            assert placement["experts-01/0"]["3"] == [0, 1, 3]
        report(f"live rebalance under {len(load)} requests (4 at once, {dp_groups} DP groups): "
               f"moved L2E1, copied L3E3, "
               f"then planned {[(m['kind'], m['layer'], m['expert']) for m in planned['moves']]} "
               f"(load {planned['load_before']} -> {planned['load_after']}); no failure, same text")
    finally:
        assert server.stop() == 0, server.log_text()


def test_rebalance_is_an_admin_route_and_checks_its_fields(binary, tmp_path, shm_prefix):
    """Issue 22: `{"max_moves": "x"}` was a 500, and the route was open to anyone with no key file.
    With --admin-key-file it takes an admin key only (without it, loopback clients only)."""
    admin_keys = tmp_path / "admin.keys"
    admin_keys.write_text("sk-admin\n")
    server = Server(binary, MODEL, "-t", 1, "-c", 256, "--admin-key-file", admin_keys, "--deployment",
                    experts_over_two_workers(tmp_path, shm_prefix))
    try:
        status, _, _ = server.request("POST", "/v1/experts/rebalance", {"max_moves": 1})
        assert status == 401  # an API key is not an admin key
        admin = {"Authorization": "Bearer sk-admin"}
        for body in ({"max_moves": "x"}, {"allow_replication": 3}):
            status, _, raw = server.request("POST", "/v1/experts/rebalance", body, headers=admin)
            assert status == 400, raw
            assert "max_moves must be an integer" in error_of(raw)["message"]
        status, _, raw = server.request("POST", "/v1/experts/rebalance", {"max_moves": 1}, headers=admin)
        assert status == 200, raw
        assert server.request("GET", "/v1/experts")[0] == 200  # reading stays an API route
    finally:
        assert server.stop() == 0, server.log_text()


def test_a_relaunched_expert_worker_is_given_the_live_placement(binary, tmp_path, shm_prefix):
    """The relaunched worker starts from the deployment's plan; the router must tell it the
    experts it holds now, or tokens of a moved expert would reach a worker without it."""
    from test_worker_relaunch import children_of, wait_for_log, wait_until_healthy
    server = Server(binary, MODEL, "-t", 1, "-c", 512, "--deployment",
                    experts_over_two_workers(tmp_path, shm_prefix))
    try:
        client = server.client()
        expected = [complete(client, server.model, p) for p in PROMPTS]
        status, moved = get_json(server, "POST", "/v1/experts/rebalance", {"moves": [
            {"layer": l, "expert": 1, "from": "experts-01/0", "to": "experts-23/0"} for l in range(5)]})
        assert status == 200, moved
        assert [complete(client, server.model, p) for p in PROMPTS] == expected
        worker = next(pid for pid in children_of(server.process.pid)
                      if "experts-23" in pathlib.Path(f"/proc/{pid}/cmdline").read_text())
        os.kill(worker, signal.SIGKILL)
        wait_for_log(server, "is back")
        wait_until_healthy(server)
        # Expert 1 of every layer now lives only in the relaunched worker.
        assert [complete(client, server.model, p) for p in PROMPTS] == expected
        status, stats = get_json(server, "GET", "/v1/experts")
        assert {w["worker"]: w["experts"]["0"] for w in stats["placement"]} == {
            "experts-01/0": [0], "experts-23/0": [1, 2, 3]}
    finally:
        assert server.stop() == 0, server.log_text()
