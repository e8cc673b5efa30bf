"""Render the GNU GPL v3 text into `gpl-3.pdf`, a real multi-page A4 PDF with a text layer.

    python eval/data/decline/make_pdf.py [path/to/GPL-3]

The text is `/usr/share/common-licenses/GPL-3` by default (the license allows verbatim
copies). It is drawn with matplotlib the way the project's tests draw PDFs
(`tests/tests_helpers.make_pdf`: TrueType fonts, `pdf.fonttype: 42`, no math parsing):
paragraphs rewrapped to about 95 characters, a blank line between paragraphs, about 60
lines a page, the title and section headings a little bigger and bold, the lettered
conditions (`a) ...`) rewrapped and drawn indented, the notice templates kept line for line
and drawn indented, and a bare page number at the foot of each page. The output is deterministic for one
matplotlib version (no creation date is written).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

SOURCE = Path("/usr/share/common-licenses/GPL-3")
OUT = Path(__file__).resolve().parent / "gpl-3.pdf"

WIDTH = 95  # characters a line
BODY, HEAD, TITLE = 8.6, 10.5, 13.0  # font sizes, points
STEP = 0.0148  # one body line, as a fraction of the page height (~60 lines a page)
TOP, BOTTOM = 0.955, 0.06
LEFT, INDENT = 0.07, 0.10

_SECTION = re.compile(r"^\d{1,2}\. [A-Z].*\.$")  # "0. Definitions.", "17. Interpretation of Sections 15 and 16."
_HEADINGS = {"GNU GENERAL PUBLIC LICENSE", "Preamble", "TERMS AND CONDITIONS", "END OF TERMS AND CONDITIONS",
             "How to Apply These Terms to Your New Programs"}
_LOOKS_LIKE_BULLET = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s")


def paragraphs(text: str) -> list[tuple[str, list[str]]]:
    """The license as `(kind, lines)` blocks: `title`, `heading`, `para`, `item` (a lettered condition,
    rewrapped and indented) or `indented` (a notice template, kept line for line)."""
    out: list[tuple[str, list[str]]] = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = [ln.rstrip() for ln in chunk.split("\n") if ln.strip()]
        if not lines:
            continue
        first = lines[0].strip()
        if first == "GNU GENERAL PUBLIC LICENSE":
            out.append(("title", [first]))
            out.append(("heading", [ln.strip() for ln in lines[1:]]))  # "Version 3, 29 June 2007"
        elif len(lines) == 1 and (first in _HEADINGS or _SECTION.match(first)):
            out.append(("heading", [first]))
        elif all(ln.startswith("    ") for ln in lines) and re.match(r"[a-z]\) ", first):
            out.append(("item", [" ".join(ln.strip() for ln in lines)]))  # "a) The work must carry ..."
        elif all(ln.startswith("    ") for ln in lines):
            out.append(("indented", [ln[4:] for ln in lines]))  # a notice template, line for line
        else:
            out.append(("para", [" ".join(ln.strip() for ln in lines)]))
    return out


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """Wrap one paragraph to about WIDTH characters, never starting a line with something a reader
    would take for a list bullet (`7. This requirement ...`)."""
    for w in range(width, width - 15, -1):
        lines = textwrap.wrap(line, w, break_on_hyphens=False, break_long_words=False)
        if not any(_LOOKS_LIKE_BULLET.match(ln) for ln in lines[1:]):
            return lines
    return lines


def layout(blocks: list[tuple[str, list[str]]]) -> list[list[tuple[str, float, float, float, bool]]]:
    """Pages of `(text, x, y, size, bold)` lines."""
    pages: list[list[tuple[str, float, float, float, bool]]] = [[]]
    y = TOP
    for i, (kind, lines) in enumerate(blocks):
        if kind in ("title", "heading"):
            size, x, step = (TITLE if kind == "title" else HEAD), LEFT, STEP * 1.3
            body = lines
        else:
            size, step = BODY, STEP
            x = LEFT if kind == "para" else INDENT
            body = lines if kind == "indented" else wrap(lines[0], WIDTH - 4 if kind == "item" else WIDTH)
        need = len(body) * step
        if kind == "heading" and i + 1 < len(blocks):
            need += 3 * STEP  # keep a heading with the first lines after it
        if y - need < BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
        for text in body:
            if y < BOTTOM:  # a long paragraph runs on over the page break
                pages.append([])
                y = TOP
            pages[-1].append((text, x, y, size, kind in ("title", "heading")))
            y -= step
        y -= STEP  # the blank line between paragraphs
    return pages


def render(pages, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    metadata = {"Title": "GNU General Public License, version 3", "Author": "Free Software Foundation",
                "CreationDate": None}
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False, "pdf.compression": 9}):
        with PdfPages(path, metadata=metadata) as pdf:
            for n, lines in enumerate(pages, 1):
                fig = plt.figure(figsize=(8.27, 11.69))
                for text, x, y, size, bold in lines:
                    fig.text(x, y, text, fontsize=size, fontweight="bold" if bold else "normal")
                fig.text(0.5, 0.03, str(n), fontsize=BODY, ha="center")
                pdf.savefig(fig)
                plt.close(fig)


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    pages = layout(paragraphs(source.read_text(encoding="utf-8")))
    render(pages, OUT)
    print(f"{OUT}: {len(pages)} pages, {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv)
