"""Shared fixtures: the matrixserve binary, the default model, the kernels' instruction-set
levels the reference suites run at, and a report of measured figures printed at the end of the
run (figures the issues ask to report, not only assert)."""
import collections
import functools
import json
import os
import pathlib
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_MODELS = ROOT.parent / "shared" / "models"
STORIES = SHARED_MODELS / "stories260K" / "stories260K.gguf"
REPORT: list[str] = []

# The kernels' instruction-set levels, lowest first (docs/kernels.md; MATRIXSERVE_MAX_ISA).
ISA_LEVELS = ["scalar", "avx2", "avx512", "avx512vnni", "amx"]
# Which levels the tests that take the `isa` fixture (the comparisons with llama.cpp) run at:
# unset, the one MATRIXSERVE_MAX_ISA selects (the CPU's best by default); "all", every level this
# CPU has (scripts/test.sh: a difference between our own kernels fails on the machine at hand;
# llama.cpp's side is computed once for all levels); "below", the levels below the best, and
# only those tests.
ISA_MATRIX = os.environ.get("MATRIXSERVE_ISA_MATRIX", "")
ISA_SECONDS: dict = collections.defaultdict(float)


def binary_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("MATRIXSERVE_BIN", ROOT / "build/apps/matrixserve/matrixserve"))


def bench_isa(cap=None) -> tuple[str, str]:
    """The level `bench` ran at under MATRIXSERVE_MAX_ISA=cap (none: the CPU's best), and its
    stderr."""
    env = dict(os.environ)
    env.pop("MATRIXSERVE_MAX_ISA", None)
    if cap is not None:
        env["MATRIXSERVE_MAX_ISA"] = cap
    out = subprocess.run([binary_path(), "bench", "-m", STORIES, "-p", "8", "-n", "4", "-r", "1",
                          "--threads-list", "1", "--json"], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    rows = json.loads(out.stdout)
    assert len({r["isa"] for r in rows}) == 1
    return rows[0]["isa"], out.stderr


@functools.cache
def capped_isa(cap=None) -> str:
    return bench_isa(cap)[0]


def detected_isa() -> str:
    return capped_isa()


def isa_levels() -> list[str]:
    if not binary_path().is_file():
        return ["native"]  # the binary fixture fails with what to do
    # The best first: it also pays for llama.cpp's side, computed once for all levels.
    have = ISA_LEVELS[ISA_LEVELS.index(detected_isa())::-1]
    if ISA_MATRIX == "below":
        return have[1:]
    if ISA_MATRIX == "all":
        return have
    if ISA_MATRIX:
        raise pytest.UsageError(f"MATRIXSERVE_ISA_MATRIX={ISA_MATRIX} is not 'below' or 'all'")
    return [capped_isa(os.environ.get("MATRIXSERVE_MAX_ISA"))]


def pytest_generate_tests(metafunc):
    if "isa" in metafunc.fixturenames:
        metafunc.parametrize("isa", isa_levels(), indirect=True)


def pytest_collection_modifyitems(config, items):
    if ISA_MATRIX != "below":
        return
    kept = [item for item in items if "isa" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture
def isa(request, monkeypatch):
    """The kernels' level for this test: every matrixserve it starts inherits it."""
    if request.param != "native":
        monkeypatch.setenv("MATRIXSERVE_MAX_ISA", request.param)
    return request.param


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = time.monotonic()
    yield
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "isa" in callspec.params:
        ISA_SECONDS[callspec.params["isa"]] += time.monotonic() - start


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("measured")
        for line in REPORT:
            terminalreporter.write_line(line)
    if ISA_MATRIX and ISA_SECONDS:
        terminalreporter.section("time per instruction-set level (calls of the tests that take "
                                 "it; llama.cpp's side in the first level's)")
        for level, seconds in ISA_SECONDS.items():
            terminalreporter.write_line(f"MATRIXSERVE_MAX_ISA={level}: {seconds:.0f} s")


@pytest.fixture
def report(request):
    """Adds a line to the measured figures; under an ISA matrix, tagged with the test's level."""
    callspec = getattr(request.node, "callspec", None)
    level = callspec.params.get("isa") if callspec is not None else None
    tag = f"[{level}] " if ISA_MATRIX and level else ""
    return lambda line: REPORT.append(tag + line)


@pytest.fixture(scope="session")
def binary() -> pathlib.Path:
    path = binary_path()
    assert path.is_file(), f"matrixserve binary not found at {path}: build first (scripts/test.sh)"
    return path


@pytest.fixture(scope="session")
def model_path() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("MATRIXSERVE_MODEL", ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    assert path.is_file(), f"default model not found at {path}: run scripts/setup.sh"
    return path


@pytest.fixture(scope="session")
def gemma3_model_path() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("MATRIXSERVE_GEMMA3_MODEL",
                                       ROOT / "models/gemma-3-270m-q4_k_m.gguf"))
    assert path.is_file(), f"Gemma 3 model not found at {path}: run scripts/setup.sh"
    return path


def run_json(cmd: list, **kwargs) -> dict:
    """Runs a matrixserve command that prints one JSON document on stdout; a failure shows the
    command's stderr (a rare failure is then diagnosable from the CI log)."""
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600,
                         **kwargs)
    assert out.returncode == 0, (f"{' '.join(map(str, cmd))} exited with {out.returncode}:\n"
                                 f"{out.stderr[-4000:]}")
    return json.loads(out.stdout)
