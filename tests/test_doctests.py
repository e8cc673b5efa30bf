"""The examples in docstrings are tests too: every module of every package is searched for them.

Modules are found by walking the packages, so a new module's examples run without being
listed anywhere. The UI module that starts Gradio is included like any other.
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["index", "assistant", "ui", "eval", "bench", "train"]


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        found.append(package)
        path = [str(ROOT / package)]
        found += [f"{package}.{m.name}" for m in pkgutil.iter_modules(path) if not m.ispkg]
    return sorted(found)


def test_every_package_is_searched():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p for p in config["tool"]["setuptools"]["packages"] if "." not in p}
    assert packages == set(PACKAGES)


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"
