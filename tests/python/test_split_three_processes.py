"""A dense model over three processes (issue 5): the front end keeps embedding, attention and head,
and two workers run the FFN layers between them. Greedy tokens must be the colocated ones over
shared memory and over UCX (tcp on loopback), also inside a private network namespace where no
packet can leave `lo`. Workers on 127.0.0.2 and 127.0.0.3, as if on hosts of their own, run in a
private namespace where each of those addresses is the first of its own device (a veth pair that
lives wholly inside the namespace), for the dense split and for the expert-parallel MoE split.
As aliases of `lo`, UCX 1.13 cannot use them (docs/transport.md): such a deployment must be
refused at once with the reason."""
import subprocess
import time

import pytest

from conftest import run_json
from server_fixtures import free_port
from conftest import SHARED_MODELS
from test_split_deployment import PROMPT, STORIES, UCX_ON_LOOPBACK, has_ucx, shm_prefix  # noqa: F401

MOE = SHARED_MODELS / "stories260K" / "stories260K-moe4x2.gguf"
ROLES = {"attention": "[embedding, attention, head]",
         "ffn-a": "[{ffn: {layers: [0, 1, 2]}}]",
         "ffn-b": "[{ffn: {layers: [3, 4]}}]"}


def three_processes(tmp_path, transport: str, addresses: list, roles: dict = ROLES) -> str:
    text = f"transport: {transport}\nroles:\n"
    for (role, units), address in zip(roles.items(), addresses):
        text += f"  {role}:\n    units: {units}\n    addresses: [\"{address}\"]\n"
    path = tmp_path / f"three.{transport}.yaml"
    path.write_text(text)
    return str(path)


def in_private_network(setup: str = "") -> list:
    """A command prefix running in a new network namespace with only `lo` up (plus `setup`)."""
    return ["unshare", "--net", "sh", "-c", f"ip link set lo up && {setup or 'true'} && exec \"$@\"", "sh"]


# Each worker's address is the first of a device of its own, as on separate hosts. The veth pair's
# two ends both stay inside the namespace, so nothing joins it to any other network; UCX lists
# devices from /sys/class/net, hence a sysfs of the namespace's own (in a private mount namespace).
HOSTS_SETUP = ("mount -t sysfs sysfs /sys && ip link add ms-host2 type veth peer name ms-host3 && "
               "ip addr add 127.0.0.2/8 dev ms-host2 && ip addr add 127.0.0.3/8 dev ms-host3 && "
               "ip link set ms-host2 up && ip link set ms-host3 up")
UCX_ON_HOSTS = {**UCX_ON_LOOPBACK, "UCX_NET_DEVICES": "all"}


def in_private_hosts() -> list:
    return ["unshare", "--net", "--mount", "sh", "-c",
            f"ip link set lo up && {HOSTS_SETUP} && exec \"$@\"", "sh"]


def generate(binary, *extra, prefix=(), model=STORIES, env=UCX_ON_LOOPBACK) -> list:
    out = run_json([*prefix, binary, "generate", "-m", model, *PROMPT, "-n", 24, "--temp", 0,
                    "--ignore-eos", "-t", 1, "--json", *extra], env=env)
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


EXPERT_ROLES = {"attention": "[embedding, attention, head]",
                "experts-01": "[{moe: {experts: [0, 1]}}]",
                "experts-23": "[{moe: {experts: [2, 3]}}]"}


ATTENTION_FFN = {"attention": "[embedding, attention, head]", "ffn": "[ffn]"}


@pytest.mark.parametrize("model,roles", [(STORIES, ROLES), (MOE, EXPERT_ROLES), ("SmolLM2", ATTENTION_FFN)],
                         ids=["ffn-layers", "experts", "smollm2-ffn"])
def test_workers_on_their_own_addresses_give_the_colocated_tokens(binary, model_path, tmp_path, model, roles):
    model = model_path if model == "SmolLM2" else model
    if not has_ucx(binary, tmp_path):
        pytest.skip("this build has no UCX")
    if not private_network_allowed():
        pytest.skip("unshare --net is not permitted here")
    addresses = ["127.0.0.1:23111", "127.0.0.2:23112", "127.0.0.3:23113"]
    split = three_processes(tmp_path, "ucx", addresses, roles)
    colocated = generate(binary, model=model)
    assert len(colocated) == 24
    assert generate(binary, "--deployment", split, model=model, prefix=in_private_hosts(),
                    env=UCX_ON_HOSTS) == colocated


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
