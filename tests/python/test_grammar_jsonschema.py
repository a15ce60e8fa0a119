"""Constrained decoding's outputs against an independent JSON Schema validator: the grammar
test walks random tokens allowed by the masks over SmolLM2's vocabulary until each schema's
grammar finishes (tests/cpp/grammar/token_mask_test.cpp) and writes what it produced; every
output must parse and validate with the `jsonschema` package (Draft 2020-12)."""
import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

from conftest import ROOT


def grammar_test_binary() -> pathlib.Path:
    return pathlib.Path(os.environ.get("MS_GRAMMAR_TEST_BIN",
                                       ROOT / "build/tests/cpp/grammar/grammar_test"))


def test_random_walk_outputs_validate(tmp_path, report):
    binary = grammar_test_binary()
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: build the project first (cmake --build build)")
    samples = tmp_path / "samples.jsonl"
    subprocess.run([binary, "--gtest_filter=TokenMask.RandomWalksProduceValidJson",
                    "--gtest_brief=1"], env={**os.environ, "MS_GRAMMAR_SAMPLES": str(samples)},
                   check=True, capture_output=True, timeout=600)
    lines = samples.read_text().splitlines()
    assert len(lines) >= 100
    schemas = set()
    for line in lines:
        sample = json.loads(line)
        schemas.add(json.dumps(sample["schema"], sort_keys=True))
        document = json.loads(sample["output"])
        jsonschema.Draft202012Validator(sample["schema"]).validate(document)
    report(f"grammar: {len(lines)} random-walk outputs over {len(schemas)} schemas "
                  "validate with jsonschema")
