"""Where the assistant keeps what it can rebuild (the bundled article's index, the ONNX files of
the models' layers): `$XDG_CACHE_HOME/grounded-assistant`, or `~/.cache/grounded-assistant`."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grounded-assistant"
