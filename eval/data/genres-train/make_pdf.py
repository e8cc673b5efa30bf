"""Render six Python HOWTO pages (Sphinx HTML) into real multi-page A4 PDFs with a text layer.

    python eval/data/genres-train/make_pdf.py

The sources are Debian's `python3.11-doc` pages `/usr/share/doc/python3.11/html/howto/logging.html`,
`.../howto/regex.html`, `.../howto/sorting.html`, `.../howto/unicode.html`, `.../howto/functional.html`
and `.../howto/sockets.html` (Python Software Foundation License), written to `logging-howto.pdf`,
`regex-howto.pdf`, `sorting-howto.pdf`, `unicode-howto.pdf`, `functional-howto.pdf` and
`sockets-howto.pdf` beside this file. Drawn by `eval/data/genres/make_pdf.py`'s layout and drawing
(imported from it), as the Ninja manual is; only the reading differs: the page's main body
(`div.body[role=main]`) is read with the standard library's parser
into blocks (headings, paragraphs, list items, definition terms and descriptions, table rows as
"cell: cell", code listings); the navigation, sidebar, footer and the permalink marks (¶) are left
out. Paragraphs are rewrapped to about 95 characters, a blank line between blocks, about 60 lines a
page, headings bigger and bold, list items and code indented, code kept line for line, a bare page
number at the foot of each page. The output is the same bytes on every run with the same matplotlib
(no creation date is written).
"""

from __future__ import annotations

import importlib.util
import sys
from html.parser import HTMLParser
from pathlib import Path

HOWTO = Path("/usr/share/doc/python3.11/html/howto")
HERE = Path(__file__).resolve().parent
SOURCES = [  # (source page, output file, PDF title)
    (HOWTO / "logging.html", HERE / "logging-howto.pdf", "Logging HOWTO"),
    (HOWTO / "regex.html", HERE / "regex-howto.pdf", "Regular Expression HOWTO"),
    (HOWTO / "sorting.html", HERE / "sorting-howto.pdf", "Sorting HOW TO"),
    (HOWTO / "unicode.html", HERE / "unicode-howto.pdf", "Unicode HOWTO"),
    (HOWTO / "functional.html", HERE / "functional-howto.pdf", "Functional Programming HOWTO"),
    (HOWTO / "sockets.html", HERE / "sockets-howto.pdf", "Socket Programming HOWTO"),
]
AUTHOR = "Python Software Foundation"


def _ninja_script():
    """`eval/data/genres/make_pdf.py`, whose layout and drawing these PDFs share (only the HTML differs)."""
    spec = importlib.util.spec_from_file_location("genres_make_pdf", HERE.parent / "genres" / "make_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ninja = _ninja_script()


class _Blocks(HTMLParser):
    """`(kind, text)` blocks of the page's main body: `title`, `heading`, `para`, `item`, `term` or `code`."""

    KINDS = {"h1": "title", "h2": "heading", "h3": "heading", "h4": "heading", "p": "para", "li": "item",
             "dt": "term", "dd": "para", "tr": "item", "pre": "code"}
    CONTAINERS = ("li", "dd", "tr")  # a paragraph inside one of these belongs to it

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.body = 0  # div depth inside div.body[role=main]; 0 outside it
        self.skip = 0  # inside a permalink mark (a.headerlink)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if not self.body:
            if tag == "div" and "body" in cls and a.get("role") == "main":
                self.body = 1
            return
        if tag == "div":
            self.body += 1
        if self.skip or (tag == "a" and "headerlink" in cls):
            self.skip += tag == "a"
            return
        if tag in ("td", "th") and self.stack and self.stack[-1][0] == "tr" and "".join(self.stack[-1][1]).strip():
            self.stack[-1][1].append(": ")  # a table row reads "cell: cell"
        if tag in self.KINDS:
            if self.stack and tag == "p" and self.stack[-1][0] in self.CONTAINERS:
                self.stack[-1][1].append(" ")
                return
            if self.stack:  # a block inside a block (nested list, listing in a list item): the text so far goes first
                self._emit(self.stack[-1][0], self.stack[-1][1])
                self.stack[-1][1].clear()
            self.stack.append((tag, []))

    def handle_endtag(self, tag):
        if not self.body:
            return
        if tag == "div":
            self.body -= 1
        if self.skip:
            self.skip -= tag == "a"
            return
        if self.stack and self.stack[-1][0] == tag:
            name, parts = self.stack.pop()
            self._emit(name, parts)

    def _emit(self, name: str, parts: list[str]) -> None:
        text = "".join(parts)
        text = text.strip("\n") if name == "pre" else " ".join(text.split()).replace(" : ", ": ")
        if name == "tr":
            text = text.rstrip(" :")  # a row whose last cell is empty
        if text.strip():
            self.blocks.append((self.KINDS[name], text))

    def handle_data(self, data):
        if self.body and not self.skip and self.stack:
            self.stack[-1][1].append(data)


def blocks(html: str) -> list[tuple[str, str]]:
    parser = _Blocks()
    parser.feed(html)
    return parser.blocks


def main(argv: list[str]) -> None:
    for source, out, title in SOURCES:
        pages = ninja.layout(blocks(source.read_text(encoding="utf-8")))
        ninja.render(pages, out, title, AUTHOR)
        print(f"{out}: {len(pages)} pages, {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv)
