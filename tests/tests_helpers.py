"""Assertions and helpers shared by several test modules."""

from __future__ import annotations

import random
from pathlib import Path


def damage_file(path: Path, how: str) -> None:
    """Damage a file the ways a crash or a bad disk does: truncated, emptied, garbage (seeded) or deleted."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(random.Random(len(data)).randbytes(len(data)))
    elif how == "deleted":
        path.unlink()
    else:
        raise AssertionError(how)


def assert_grounded(assistant, answer) -> None:
    """The invariants every answer must keep (`assistant.grounding`), each problem named on failure."""
    from assistant.grounding import grounding_problems

    assert grounding_problems(answer, assistant.index) == []


def rebuildable_index(tmp_path: Path, settings):
    """An index folder of one document, and a function that rebuilds it with a second one:
    `(assistant on the first build, folder, rebuild)`."""
    from assistant import Assistant

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    folder = tmp_path / "index"
    first = Assistant.from_paths([docs], folder, settings)

    def rebuild():
        (docs / "two.txt").write_text("Two\n\nPears grow on trees too.\n", encoding="utf-8")
        Assistant.from_paths([docs], folder, settings)

    return first, folder, rebuild


def make_pdf(path: Path, pages: list[list[tuple]], title: str | None = None) -> Path:
    """A real PDF with a text layer, drawn by matplotlib: each page a list of `(text, y)` or
    `(text, y, size, bold)` lines, `y` from 0 (bottom) to 1 (top) of an A4 page. A line whose
    text is `None` draws only an image (no text layer)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False}):
        with PdfPages(path, metadata={"Title": title} if title else None) as pdf:
            for lines in pages:
                fig = plt.figure(figsize=(8.27, 11.69))
                for text, y, *style in lines:
                    size, bold = (style + [10, False])[:2] if style else (10, False)
                    if text is None:
                        fig.figimage(np.random.default_rng(0).random((200, 300)), xo=100, yo=300)
                    else:
                        fig.text(0.08, y, text, fontsize=size, fontweight="bold" if bold else "normal")
                pdf.savefig(fig)
                plt.close(fig)
    return path


def make_docx(path: Path, parts: list[tuple[str, str]], title: str | None = None) -> Path:
    """A Word file made by python-docx from `(style, text)` parts; style `table` takes rows of
    cells as `"a | b\\nc | d"`."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for style, text in parts:
        if style == "table":
            rows = [r.split(" | ") for r in text.split("\n")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
        else:
            document.add_paragraph(text, style=style)
    document.save(path)
    return path
