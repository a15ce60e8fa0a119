"""Shared fixtures: the matrixserve binary, the default model, and a report of measured figures
printed at the end of the run (figures the issues ask to report, not only assert)."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_MODELS = ROOT.parent / "shared" / "models"
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("measured")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report():
    return REPORT.append


@pytest.fixture(scope="session")
def binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("MATRIXSERVE_BIN", ROOT / "build/apps/matrixserve/matrixserve"))
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
    """Runs a matrixserve command that prints one JSON document on stdout."""
    out = subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                         timeout=600, **kwargs)
    return json.loads(out.stdout)
