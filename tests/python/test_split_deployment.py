"""A model split over worker processes (issue 5): the front end keeps embedding, attention and
head and a `matrixserve worker` runs the dense FFN layers. Greedy tokens and teacher-forced logits
must not change with the placement, and a worker that dies must end the front end with a clear
error instead of a hang."""
import glob
import json
import os
import pathlib
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import SHARED_MODELS, run_json
from server_fixtures import free_port

STORIES = SHARED_MODELS / "stories260K" / "stories260K.gguf"
UCX_ON_LOOPBACK = {**os.environ, "UCX_TLS": "tcp,self", "UCX_NET_DEVICES": "lo"}
PROMPT = ["--tokens", "1,400,261,370"]


@pytest.fixture
def shm_prefix():
    """A shm name prefix of this test's own; removes segments a killed process left behind."""
    prefix = f"ms-split-test-{os.getpid()}-{time.monotonic_ns()}"
    yield prefix
    for path in glob.glob(f"/dev/shm/{prefix}*"):
        os.unlink(path)


def deployment(tmp_path: pathlib.Path, transport: str, prefix: str, roles: dict) -> pathlib.Path:
    """A deployment file with `roles` (name -> units text), one worker each."""
    text = f"transport: {transport}\nroles:\n"
    for role, units in roles.items():
        text += f"  {role}:\n    units: {units}\n"
        if transport == "shm":
            text += f"    addresses: [{prefix}-{role}]\n"
        elif transport == "ucx":  # one host: every rank on 127.0.0.1 (docs/transport.md)
            text += f"    addresses: [\"127.0.0.1:{free_port()}\"]\n"
    path = tmp_path / f"deployment.{transport}.yaml"
    path.write_text(text)
    return path


def attention_ffn(tmp_path: pathlib.Path, transport: str, prefix: str) -> pathlib.Path:
    return deployment(tmp_path, transport, prefix,
                      {"attention": "[embedding, attention, head]", "ffn": "[ffn]"})


def shared_head(tmp_path: pathlib.Path, transport: str, prefix: str) -> pathlib.Path:
    """attention | FFN, the head's vocabulary cut in halves between the two."""
    return deployment(tmp_path, transport, prefix,
                      {"attention": "[embedding, attention, {head: {vocab_share: 0.5}}]",
                       "ffn": "[ffn, {head: {vocab_share: 0.5}}]"})


def greedy(binary, model, *extra) -> list:
    out = run_json([binary, "generate", "-m", model, *PROMPT, "-n", 24, "--temp", 0, "--ignore-eos",
                    "-t", 1, "--json", *extra], env=UCX_ON_LOOPBACK)
    return out["generated_tokens"]


def has_ucx(binary, tmp_path) -> bool:
    probe = subprocess.run([str(binary), "generate", "-m", str(STORIES), *PROMPT, "-n", "1", "--json",
                            "--deployment", str(deployment(tmp_path, "ucx", "", {
                                "attention": "[embedding, attention, head]", "ffn": "[ffn]"}))],
                           capture_output=True, text=True, timeout=120, env=UCX_ON_LOOPBACK)
    return "this build has no UCX" not in probe.stderr


@pytest.mark.parametrize("transport", ["shm", "inproc", "ucx"])
@pytest.mark.parametrize("which", ["stories260K", "SmolLM2"])
def test_greedy_tokens_do_not_depend_on_placement(binary, model_path, tmp_path, shm_prefix, which,
                                                  transport):
    if transport == "ucx" and not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    model = STORIES if which == "stories260K" else model_path
    colocated = greedy(binary, model)
    split = greedy(binary, model, "--deployment", attention_ffn(tmp_path, transport, shm_prefix))
    assert len(colocated) == 24
    assert split == colocated


def test_teacher_forced_logits_are_bitwise_the_same(binary, tmp_path, shm_prefix):
    tokens = ["--tokens", "1,400,261,370,272,414,276,356,426,346,397"]
    run_json([binary, "logits", "-m", STORIES, *tokens, "-t", 1, "-o", tmp_path / "colocated.bin"])
    run_json([binary, "logits", "-m", STORIES, *tokens, "-t", 1, "-o", tmp_path / "split.bin",
              "--deployment", attention_ffn(tmp_path, "shm", shm_prefix)])
    colocated = np.fromfile(tmp_path / "colocated.bin", dtype=np.float32)
    split = np.fromfile(tmp_path / "split.bin", dtype=np.float32)
    assert colocated.size == 11 * 512
    assert np.array_equal(split, colocated)


def test_moe_layers_in_a_worker_give_the_colocated_tokens(binary, tmp_path, shm_prefix):
    model = SHARED_MODELS / "stories260K" / "stories260K-moe4x2-perturbed.gguf"
    split = deployment(tmp_path, "shm", shm_prefix,
                       {"attention": "[embedding, attention, head]", "experts": "[moe]"})
    assert greedy(binary, model, "--deployment", split) == greedy(binary, model)


def children_of(pid: int) -> list:
    try:
        return [int(c) for c in pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def is_running(pid: int) -> bool:
    """False once the process ended, also while it waits to be reaped (a zombie)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for_child(proc) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if children := children_of(proc.pid):
            return children[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("the front end started no worker")


def start_long_generation(binary, model_path, deployment):
    """Decodes far longer than the tests take; returns once the first generated text is out."""
    front = subprocess.Popen([str(binary), "generate", "-m", str(model_path), "-p", "Once upon a time",
                              "-n", "1500", "--temp", "0", "--ignore-eos", "-t", "1",
                              "--deployment", str(deployment)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = wait_for_child(front)
    assert front.stdout.read(1), "the front end printed no text"
    return front, worker


def test_a_killed_worker_ends_the_front_end_with_a_clear_error(binary, model_path, tmp_path, shm_prefix,
                                                               report):
    front, worker = start_long_generation(binary, model_path, attention_ffn(tmp_path, "shm", shm_prefix))
    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, err = front.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        front.kill()
        pytest.fail("the front end hangs after its worker was killed")
    report(f"split attention|ffn over shm: front end exited {time.monotonic() - killed:.2f} s after "
           "its worker was killed")
    assert front.returncode == 1
    assert "worker ffn/0" in err and "gone" in err, err


def test_a_killed_front_end_takes_its_workers_with_it(binary, model_path, tmp_path, shm_prefix):
    front, worker = start_long_generation(binary, model_path, attention_ffn(tmp_path, "shm", shm_prefix))
    front.kill()
    front.wait()
    deadline = time.monotonic() + 10
    while is_running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(worker), "the worker outlived its front end"


def test_a_bad_role_is_a_clear_error(binary, tmp_path, shm_prefix):
    deployment = attention_ffn(tmp_path, "shm", shm_prefix)
    out = subprocess.run([str(binary), "worker", "--deployment", str(deployment), "--role", "attn",
                          "--model", str(STORIES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "no role 'attn' (roles: attention, ffn)" in out.stderr


def test_serve_with_a_split_deployment(binary, model_path, tmp_path, shm_prefix):
    """The server gives the colocated completions; a killed worker fails the requests it was
    running with an error naming it, and the server stays up."""
    from server_fixtures import Server

    body = {"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0}

    def complete(server):
        status, _, raw = server.request("POST", "/v1/completions", {"model": server.model, **body})
        return status, json.loads(raw)

    colocated = Server(binary, model_path, "-t", 1, "-c", 256)
    try:
        status, expected = complete(colocated)
        assert status == 200, expected
    finally:
        colocated.stop()
    split = Server(binary, model_path, "-t", 1, "-c", 256, "--deployment",
                   attention_ffn(tmp_path, "shm", shm_prefix))
    try:
        status, got = complete(split)
        assert status == 200, got
        assert got["choices"][0]["text"] == expected["choices"][0]["text"]
        for worker in children_of(split.process.pid):
            os.kill(worker, signal.SIGKILL)
        status, failed = complete(split)
        assert status != 200
        assert "unavailable" in json.dumps(failed), failed
        assert "worker ffn/0" in split.log_text()  # the log names the worker, clients hear less
        assert split.request("GET", "/health")[0] in (200, 503)  # up: 503 until the worker is back
    finally:
        exit_status = split.stop()
    assert exit_status == 0, split.log_text()


def test_deployment_check_prints_each_workers_plan(binary, tmp_path, shm_prefix):
    """`deployment check` takes the model as -m like every other command (or --model)."""
    path = attention_ffn(tmp_path, "shm", shm_prefix)
    for flag in ("-m", "--model"):
        out = subprocess.run([binary, "deployment", "check", "--deployment", str(path), flag,
                              str(STORIES)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "transport shm" in out.stdout
        assert "attention/0" in out.stdout and "ffn/0" in out.stdout
