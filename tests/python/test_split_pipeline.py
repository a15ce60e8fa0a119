"""Micro-batch pipelining (issue 5): with `micro_batches: 2` a split deployment cuts each step of
several sequences into two slices that take turns in the workers. Concurrent greedy requests must
give the colocated completions, and /metrics must show the pipelined steps and their bubbles."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from server_fixtures import Server
from test_split_deployment import (STORIES, SHARED_MODELS, UCX_ON_LOOPBACK, attention_ffn, deployment,
                                   has_ucx, shared_head, shm_prefix)  # noqa: F401

PROMPTS = ["Once upon a time", "The little dog", "Tom and Lily went to the park", "One day, a bird",
           "She had a red ball and", "Mom said"]


def with_micro_batches(path, n: int):
    path.write_text(f"micro_batches: {n}\n" + path.read_text())
    return path


def completions(server) -> list:
    """The PROMPTS sent at once, so the server's steps carry several sequences."""
    client = server.client()

    def complete(prompt):
        out = client.completions.create(model=server.model, prompt=prompt, max_tokens=16,
                                        temperature=0)
        return out.choices[0].text

    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        return list(pool.map(complete, PROMPTS))


def serve(binary, model, *extra):
    return Server(binary, model, "-t", 1, "-c", 512, *extra)


def served_completions(binary, model, *extra) -> tuple:
    """(completions, /metrics samples) of a server started for them, which must exit cleanly."""
    server = serve(binary, model, *extra)
    try:
        return completions(server), server.metrics()
    finally:
        assert server.stop() == 0, server.log_text()


def split_case(tmp_path, prefix, case):
    if case == "expert-parallel":
        from test_expert_parallel import three_workers
        return three_workers(tmp_path, "shm", prefix)
    if case == "shared-head":
        return shared_head(tmp_path, "shm", prefix)
    if case == "moe-worker":
        return deployment(tmp_path, "shm", prefix,
                          {"attention": "[embedding, attention, head]", "experts": "[moe]"})
    return attention_ffn(tmp_path, case, prefix)


def colocated_and_split(binary, model_path, tmp_path, shm_prefix, which, case, header,
                        monkeypatch):
    """(split completions, colocated completions, the split server's /metrics) for the case's
    deployment with `header` (top-level fields) prepended."""
    for name, value in UCX_ON_LOOPBACK.items():
        if name.startswith("UCX_"):
            monkeypatch.setenv(name, value)
    if case == "ucx" and not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    model = {"SmolLM2": model_path, "stories260K": STORIES,
             "moe4x2": SHARED_MODELS / "stories260K" / "stories260K-moe4x2-perturbed.gguf"}[which]
    expected, _ = served_completions(binary, model)
    path = split_case(tmp_path, shm_prefix, case)
    path.write_text(header + path.read_text())
    got, samples = served_completions(binary, model, "--deployment", path)
    return got, expected, samples


@pytest.mark.parametrize("which,case", [
    ("SmolLM2", "shm"), ("stories260K", "shm"), ("stories260K", "ucx"), ("moe4x2", "moe-worker"),
    ("moe4x2", "expert-parallel"), ("SmolLM2", "shared-head")])
def test_pipelined_steps_give_the_colocated_completions(binary, model_path, tmp_path, shm_prefix,
                                                        which, case, report, monkeypatch):
    got, expected, samples = colocated_and_split(binary, model_path, tmp_path, shm_prefix, which,
                                                 case, "micro_batches: 2\n", monkeypatch)
    assert got == expected
    steps = samples["pipeline_steps_total"]
    assert steps > 0, "no step ran as micro-batches"
    assert samples["pipeline_micro_batches_total"] == 2 * steps
    assert 0 < samples["pipeline_bubble_seconds_total"] < samples["pipeline_step_seconds_total"]
    remote = {"moe-worker": 'unit="moe",location="experts/0"',
              "expert-parallel": 'unit="moe",location="local"'}.get(case, 'unit="ffn",location="ffn/0"')
    assert samples[f"unit_seconds_total{{{remote}}}"] > 0
    if case == "shared-head":
        assert samples['unit_seconds_total{unit="head",location="shared"}'] > 0
    report(f"{which} over {case}, micro_batches 2: {int(steps)} pipelined steps, bubbles "
           f"{samples['pipeline_bubble_seconds_total'] / samples['pipeline_step_seconds_total']:.0%} "
           "of their time")


@pytest.mark.parametrize("which,case,micro_batches", [
    ("SmolLM2", "shm", 1), ("stories260K", "ucx", 2), ("moe4x2", "expert-parallel", 2),
    ("stories260K", "shared-head", 2)])
def test_dp_groups_give_the_colocated_completions(binary, model_path, tmp_path, shm_prefix, which,
                                                  case, micro_batches, report, monkeypatch):
    """Two attention DP groups in the front end, each with its own requests and KV blocks, take
    turns on its core: one group's steps run while the other's wait for the worker."""
    got, expected, samples = colocated_and_split(
        binary, model_path, tmp_path, shm_prefix, which, case,
        f"attention: {{dp: 2}}\nmicro_batches: {micro_batches}\n", monkeypatch)
    assert got == expected
    steps = samples["pipeline_steps_total"]
    assert steps > 0
    assert samples["pipeline_bubble_seconds_total"] < samples["pipeline_step_seconds_total"]
    report(f"{which} over {case}, 2 DP groups x {micro_batches} micro-batch(es): {int(steps)} "
           f"steps, bubbles {samples['pipeline_bubble_seconds_total']:.3f} s of "
           f"{samples['pipeline_step_seconds_total']:.3f} s step time (both groups)")
