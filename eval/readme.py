"""Writes measured figures into the README between `<!-- NAME:start -->` and `<!-- NAME:end -->`,
so the figures a reader sees are a run's output, never typed by hand."""

from __future__ import annotations

import os
import re
from pathlib import Path


def replace_block(readme: Path, name: str, content: str) -> None:
    """Replace what sits between the `name` markers in `readme` with `content`.

    Markers on one line (inside a table cell) get the content inline, on one line; markers
    on lines of their own get it on the lines between. Raises ValueError (and leaves the file
    alone) when the markers are missing.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r"(.*?)" + re.escape(end), re.S)
    found = pattern.search(text)
    if not found:
        raise ValueError(f"{readme} has no {start} ... {end} block")
    inline = "\n" not in found.group(1)
    block = f"{start}{' '.join(content.split())}{end}" if inline else f"{start}\n{content}\n{end}"
    # written beside and renamed over, so an interrupted run never leaves half a README
    tmp = readme.with_name(f".{readme.name}.tmp")
    tmp.write_text(text[:found.start()] + block + text[found.end():], encoding="utf-8")
    os.replace(tmp, readme)
