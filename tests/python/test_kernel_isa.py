"""MATRIXSERVE_MAX_ISA caps the kernels' instruction set (docs/kernels.md): bench reports the
level it ran, a cap above the CPU's level changes nothing, and an unknown name is reported."""
from conftest import ISA_LEVELS as LEVELS
from conftest import bench_isa


def test_a_cap_lowers_the_level_and_never_raises_it(binary):
    detected, _ = bench_isa()
    assert detected in LEVELS
    for cap in LEVELS:
        isa, _ = bench_isa(cap)
        assert isa == LEVELS[min(LEVELS.index(cap), LEVELS.index(detected))]


def test_an_unknown_cap_is_reported_and_ignored(binary):
    detected, _ = bench_isa()
    isa, stderr = bench_isa("avx1024")
    assert isa == detected
    assert "MATRIXSERVE_MAX_ISA=avx1024 is not one of" in stderr
