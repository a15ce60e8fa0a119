"""A dense model over three processes (issue 5): the front end keeps embedding, attention and head,
and two workers run the FFN layers between them. Greedy tokens must be the colocated ones over
shared memory and over UCX (tcp on loopback), also inside a private network namespace where no
packet can leave `lo`. UCX 1.13 cannot use 127.0.0.2 and 127.0.0.3 there (docs/transport.md):
such a deployment must be refused at once with the reason."""
import subprocess
import time

import pytest

from conftest import run_json
from server_fixtures import free_port
from test_split_deployment import PROMPT, STORIES, UCX_ON_LOOPBACK, has_ucx, shm_prefix  # noqa: F401

ROLES = {"attention": "[embedding, attention, head]",
         "ffn-a": "[{ffn: {layers: [0, 1, 2]}}]",
         "ffn-b": "[{ffn: {layers: [3, 4]}}]"}


def three_processes(tmp_path, transport: str, addresses: list) -> str:
    text = f"transport: {transport}\nroles:\n"
    for (role, units), address in zip(ROLES.items(), addresses):
        text += f"  {role}:\n    units: {units}\n    addresses: [\"{address}\"]\n"
    path = tmp_path / f"three.{transport}.yaml"
    path.write_text(text)
    return str(path)


def in_private_network(setup: str = "") -> list:
    """A command prefix running in a new network namespace with only `lo` up (plus `setup`)."""
    return ["unshare", "--net", "sh", "-c", f"ip link set lo up && {setup or 'true'} && exec \"$@\"", "sh"]


def generate(binary, *extra, prefix=()) -> list:
    out = run_json([*prefix, binary, "generate", "-m", STORIES, *PROMPT, "-n", 24, "--temp", 0,
                    "--ignore-eos", "-t", 1, "--json", *extra], env=UCX_ON_LOOPBACK)
    return out["generated_tokens"]


def private_network_allowed() -> bool:
    return subprocess.run(in_private_network() + ["true"], capture_output=True).returncode == 0


@pytest.mark.parametrize("transport", ["shm", "ucx", "ucx-private-network"])
def test_ffn_layers_over_two_workers_give_the_colocated_tokens(binary, tmp_path, shm_prefix, transport):
    if transport != "shm" and not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    prefix = []
    if transport == "ucx-private-network":
        if not private_network_allowed():
            pytest.skip("unshare --net is not permitted here")
        prefix = in_private_network()
    if transport == "shm":
        addresses = [f"{shm_prefix}-{role}" for role in ROLES]
    else:  # one address per rank on 127.0.0.1 (see the refusal below)
        addresses = [f"127.0.0.1:{free_port()}" for _ in ROLES]
    split = three_processes(tmp_path, transport.split("-")[0], addresses)
    colocated = generate(binary)
    assert len(colocated) == 24
    assert generate(binary, "--deployment", split, prefix=prefix) == colocated


def test_ucx_on_secondary_loopback_addresses_is_refused_at_once(binary, tmp_path):
    if not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    if not private_network_allowed():
        pytest.skip("unshare --net is not permitted here")
    split = three_processes(tmp_path, "ucx", ["127.0.0.1:23101", "127.0.0.2:23102", "127.0.0.3:23103"])
    aliases = "ip addr add 127.0.0.2/8 dev lo && ip addr add 127.0.0.3/8 dev lo"
    start = time.monotonic()
    out = subprocess.run(in_private_network(aliases) + [
        str(binary), "generate", "-m", str(STORIES), *PROMPT, "-n", "2", "--deployment", split],
        capture_output=True, text=True, timeout=120, env=UCX_ON_LOOPBACK)
    assert out.returncode == 1, out.stderr
    assert "127.0.0.2 is a secondary address of lo (its first is 127.0.0.1)" in out.stderr, out.stderr
    assert time.monotonic() - start < 20, "the refusal waited for a timeout"
