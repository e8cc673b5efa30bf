"""Render the Ninja build system's manual into `ninja-manual.pdf`, a real multi-page A4 PDF with a text layer.

    python eval/data/genres/make_pdf.py [path/to/manual.html]

The source is `/usr/share/doc/ninja-build/manual.html` (Debian's ninja-build 1.11.1; Apache-2.0).
Its HTML is read with the standard library's parser into blocks (headings, paragraphs, list items,
definition terms and code listings; the table of contents is left out) and drawn with matplotlib the
way `eval/data/decline/make_pdf.py` draws the GPL: paragraphs rewrapped to about 95 characters, a
blank line between blocks, about 60 lines a page, headings bigger and bold, list items and code
indented, code kept line for line, a bare page number at the foot of each page. The output is the
same bytes on every run with the same matplotlib (no creation date is written).
"""

from __future__ import annotations

import re
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

SOURCE = Path("/usr/share/doc/ninja-build/manual.html")
OUT = Path(__file__).resolve().parent / "ninja-manual.pdf"

WIDTH = 95
BODY, HEAD, TITLE = 8.6, 10.5, 13.0
STEP = 0.0148
TOP, BOTTOM = 0.955, 0.06
LEFT, INDENT = 0.07, 0.10
_LOOKS_LIKE_BULLET = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s")


class _Blocks(HTMLParser):
    """`(kind, text)` blocks: `title`, `heading`, `para`, `item`, `term` or `code`."""

    KINDS = {"h1": "title", "h2": "heading", "h3": "heading", "h4": "heading", "p": "para", "li": "item",
             "dt": "term", "dd": "para", "tr": "item", "pre": "code"}
    CONTAINERS = ("li", "dd", "tr")  # a paragraph or listing inside one of these belongs to it

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.skip = 0  # inside the table of contents or the title page's author line

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if self.skip or (tag == "div" and cls in ("toc", "author")):
            self.skip += tag == "div"
            return
        if tag == "td" and self.stack and self.stack[-1][0] == "tr" and "".join(self.stack[-1][1]).strip():
            self.stack[-1][1].append(": ")  # a table row reads "name: what it does"
        if tag in self.KINDS:
            if self.stack and tag in ("p", "pre") and self.stack[-1][0] in self.CONTAINERS:
                self.stack[-1][1].append(" ")
                return
            self.stack.append((tag, []))

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= tag == "div"
            return
        if self.stack and self.stack[-1][0] == tag:
            name, parts = self.stack.pop()
            text = "".join(parts)
            text = text.strip("\n") if name == "pre" else " ".join(text.split()).replace(" : ", ": ")
            if text:
                self.blocks.append((self.KINDS[name], text))

    def handle_data(self, data):
        if not self.skip and self.stack:
            self.stack[-1][1].append(data)


def blocks(html: str) -> list[tuple[str, str]]:
    parser = _Blocks()
    parser.feed(html)
    return parser.blocks


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """Wrap one paragraph, never starting a continuation line with something that looks like a bullet."""
    for w in range(width, width - 15, -1):
        lines = textwrap.wrap(line, w, break_on_hyphens=False, break_long_words=False)
        if not any(_LOOKS_LIKE_BULLET.match(ln) for ln in lines[1:]):
            return lines
    return lines


def layout(parts: list[tuple[str, str]]) -> list[list[tuple[str, float, float, float, bool]]]:
    pages: list[list[tuple[str, float, float, float, bool]]] = [[]]
    y = TOP
    for i, (kind, text) in enumerate(parts):
        if kind in ("title", "heading"):
            size, x, step, body = (TITLE if kind == "title" else HEAD), LEFT, STEP * 1.3, [text]
        elif kind == "code":
            size, x, step, body = BODY, INDENT, STEP, [ln.rstrip() or " " for ln in text.split("\n")]
        elif kind == "item":
            size, x, step, body = BODY, INDENT, STEP, wrap("- " + text, WIDTH - 4)
        else:
            size, x, step, body = BODY, LEFT, STEP, wrap(text)
        need = len(body) * step + (3 * STEP if kind == "heading" and i + 1 < len(parts) else 0)
        if y - need < BOTTOM and pages[-1] and (kind == "heading" or need < 0.2):
            pages.append([])
            y = TOP
        for line in body:
            if y < BOTTOM:
                pages.append([])
                y = TOP
            pages[-1].append((line, x, y, size, kind in ("title", "heading", "term")))
            y -= step
        y -= STEP
    return pages


def render(pages, path: Path, title: str = "The Ninja build system",
           author: str = "Evan Martin and the Ninja contributors") -> None:
    """Draw laid-out pages into `path` (also used by `eval/data/genres-train/make_pdf.py`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    metadata = {"Title": title, "Author": author, "CreationDate": None}
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False, "pdf.compression": 9}):
        with PdfPages(path, metadata=metadata) as pdf:
            for n, lines in enumerate(pages, 1):
                fig = plt.figure(figsize=(8.27, 11.69))
                for text, x, y, size, bold in lines:
                    fig.text(x, y, text, fontsize=size, fontweight="bold" if bold else "normal",
                             family="monospace" if x == INDENT and not bold and not text.startswith("- ") else None)
                fig.text(0.5, 0.03, str(n), fontsize=BODY, ha="center")
                pdf.savefig(fig)
                plt.close(fig)


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    pages = layout(blocks(source.read_text(encoding="utf-8")))
    render(pages, OUT)
    print(f"{OUT}: {len(pages)} pages, {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv)
