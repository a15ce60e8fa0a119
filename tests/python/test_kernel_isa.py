"""MATRIXSERVE_MAX_ISA caps the kernels' instruction set (docs/kernels.md): bench reports the
level it ran, a cap above the CPU's level changes nothing, and an unknown name is reported."""
import json
import os
import subprocess

from test_split_deployment import STORIES

LEVELS = ["scalar", "avx2", "avx512", "avx512vnni", "amx"]


def bench_isa(binary, cap=None):
    env = dict(os.environ)
    env.pop("MATRIXSERVE_MAX_ISA", None)
    if cap is not None:
        env["MATRIXSERVE_MAX_ISA"] = cap
    out = subprocess.run([binary, "bench", "-m", STORIES, "-p", "8", "-n", "4", "-r", "1",
                          "--threads-list", "1", "--json"], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    rows = json.loads(out.stdout)
    assert len({r["isa"] for r in rows}) == 1
    return rows[0]["isa"], out.stderr


def test_a_cap_lowers_the_level_and_never_raises_it(binary):
    detected, _ = bench_isa(binary)
    assert detected in LEVELS
    for cap in LEVELS:
        isa, _ = bench_isa(binary, cap)
        assert isa == LEVELS[min(LEVELS.index(cap), LEVELS.index(detected))]


def test_an_unknown_cap_is_reported_and_ignored(binary):
    detected, _ = bench_isa(binary)
    isa, stderr = bench_isa(binary, "avx1024")
    assert isa == detected
    assert "MATRIXSERVE_MAX_ISA=avx1024 is not one of" in stderr
