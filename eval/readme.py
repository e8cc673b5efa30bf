"""Writes measured figures into the README between `<!-- NAME:start -->` and `<!-- NAME:end -->`,
so the figures a reader sees are a run's output, never typed by hand."""

from __future__ import annotations

import re
from pathlib import Path


def replace_block(readme: Path, name: str, content: str) -> None:
    """Replace what sits between the `name` markers in `readme` with `content`.

    Raises ValueError (and leaves the file alone) when the markers are missing.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {start} ... {end} block")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{content}\n{end}", text, count=1), encoding="utf-8")
