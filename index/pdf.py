"""Reads the text layer of a PDF into plain text, blocks and page ranges (PDFium, through pypdfium2).

PDFium gives each page's characters with the lines it found, and for each character its baseline,
font size, font name and the text object (one text-showing operator) that drew it; a line takes
those of its longest run of one object. Lines are put back together here: a wider gap than the
page's usual line spacing ends a paragraph, a line in a larger (or bold) font standing alone is a
heading (numbered ones too: `3. Results`), and so is a line that is a title of the PDF's outline
(bookmarks); a line opening with a bullet or `1.` in the body's font starts a list item. Lines
of a paragraph are joined with a space (soft wraps), and a word broken by a hyphen at the end of a
line is joined again when the whole word is known (`infor-` + `mation`) and keeps
its hyphen otherwise (`well-` + `known`); a paragraph that runs on over a page break
is joined the same way. Bare page numbers and running headers or footers (the same
first or last line on most pages) are dropped. The text built here IS the document
text: blocks and the page ranges (`pages[i]` is the span of page i + 1) index into it,
so quotes stay exact. Left out: OCR (a PDF without a text layer is refused by name),
tables and columns as such (their text comes in PDFium's reading order), images,
annotations, forms and attachments. An encrypted PDF is read only when it opens with
an empty password (a PDF that merely restricts printing); otherwise it is refused.
PDFium is not thread-safe: every call to it holds `PDFIUM_LOCK`.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import re
import statistics
import threading
from dataclasses import dataclass
from typing import Callable

from .blocks import BULLET, NUMBERED, SENTENCE_END, Block
from .errors import DocumentError

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
                            "\t": " ", "\xa0": " "})
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\ufeff]")
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?[-–—\s]*$", re.IGNORECASE)
_WORD_END = re.compile(r"([^\W\d_]*)[^\W_]-$")
_WORD_START = re.compile(r"^[^\W\d_]*")
_TERMINAL = re.compile(r"[.!?:…][\"”’)\]]*$")


@dataclass(frozen=True)
class Line:
    """One line of a page: its text and, when PDFium told us, its baseline height, font size and weight."""

    text: str
    y: float | None = None
    size: float = 0.0
    bold: bool = False


# ---------------------------------------------------------------- pure assembly


def join_lines(a: str, b: str, known: Callable[[str], bool]) -> str:
    """What goes between line `a` and the next line `b` of one paragraph, and what of `a`'s end is kept.

    Returns the joint: `" "` for a soft wrap, `""` to glue a hyphenated word (the hyphen kept),
    or `"\\b"` to glue it and drop the hyphen.

    >>> known = {"information"}.__contains__
    >>> [join_lines("the infor-", "mation age", known), join_lines("a well-", "known fact", known),
    ...  join_lines("end of", "line", known), join_lines("co-", "Operation", known)]
    ['\\x08', '', ' ', '']
    """
    if a.endswith("\u00ad"):
        return "\b"
    end = _WORD_END.search(a)
    if not (end and b[:1].isalnum()):
        return " "
    tail = _WORD_START.match(b).group(0)
    word = a[end.start():-1] + tail
    return "\b" if tail[:1].islower() and word.isalpha() and known(word) else ""


def _furniture(pages: list[list[Line]]) -> set[tuple[int, int]]:
    """(page, line) positions of page numbers and running headers/footers."""
    drop: set[tuple[int, int]] = set()
    edges: dict[str, list[tuple[int, int]]] = {}
    for p, lines in enumerate(pages):
        for i in {0, 1, len(lines) - 2, len(lines) - 1}:
            if not 0 <= i < len(lines):
                continue
            text = lines[i].text.strip()
            if i in (0, len(lines) - 1) and _PAGE_NUMBER.match(text):
                drop.add((p, i))
            elif text:
                edges.setdefault(re.sub(r"\d+", "#", text.lower()), []).append((p, i))
    if len(pages) >= 3:
        for where in edges.values():
            if len({p for p, _ in where}) >= max(3, len(pages) // 2):
                drop.update(where)
    return drop


def _typical(values: list[float], default: float) -> float:
    return statistics.median(values) if values else default


def _title_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def assemble(pages: list[list[Line]], known: Callable[[str], bool],
             outline: dict[str, int] | None = None) -> tuple[str, list[Block], list[tuple[int, int]]]:
    """The document text, its blocks and each page's span, from the lines of every page. A line
    whose text is a title of the PDF's outline (`outline`: title -> depth, 1 at the top) is a
    heading of that level, whatever its font.

    >>> text, blocks, pages = assemble([[Line("Intro", 700, 16), Line("A soft", 680, 10), Line("wrap.", 668, 10)],
    ...                                 [Line("Next page.", 700, 10)]], lambda w: False)
    >>> text, [(b.kind, text[b.start:b.end]) for b in blocks], pages
    ('Intro\\n\\nA soft wrap.\\n\\nNext page.', [('heading', 'Intro'), ('paragraph', 'A soft wrap.'), ('paragraph', 'Next page.')], [(0, 21), (21, 31)])
    """
    drop = _furniture(pages)
    clean = [[ln for i, ln in enumerate(lines) if (p, i) not in drop and ln.text.strip()] for p, lines in enumerate(pages)]
    sizes: dict[float, int] = {}
    gaps: list[float] = []
    for lines in clean:
        for ln in lines:
            sizes[round(ln.size, 1)] = sizes.get(round(ln.size, 1), 0) + len(ln.text)
        gaps += [a.y - b.y for a, b in zip(lines, lines[1:])
                 if a.y is not None and b.y is not None and a.y > b.y and round(a.size, 1) == round(b.size, 1)]
    body = max(sizes, key=sizes.get) if sizes else 0.0
    spacing = _typical(gaps, 0.0)
    big = sorted({round(ln.size, 1) for lines in clean for ln in lines if body and ln.size >= 1.15 * body}, reverse=True)

    titles = {_title_key(t): level for t, level in (outline or {}).items()}

    def heading_level(ln: Line) -> int:
        s = ln.text.strip()
        if titles and _title_key(s) in titles:
            return min(titles[_title_key(s)], 6)
        # a numbered line ("3. Financial Results") in a heading's font is a heading, not a list item
        if len(s) > 120 or (BULLET.match(ln.text) and not NUMBERED.match(ln.text)) or not body:
            return 0
        if round(ln.size, 1) in big:
            return min(big.index(round(ln.size, 1)) + 1, 5)
        if ln.bold and ln.size >= body * 0.95 and not SENTENCE_END.search(s):
            return min(len(big) + 1, 6)
        return 0

    def breaks(a: Line, b: Line) -> bool:
        """Does a new block start at `b`, the line after `a` on the same page?"""
        if heading_level(a) or heading_level(b) or BULLET.match(b.text):
            return True
        if a.y is None or b.y is None or not spacing:
            return False
        gap = a.y - b.y
        return gap < 0 or gap > 1.45 * spacing * max(b.size / body if body else 1.0, 1.0) or abs(a.size - b.size) > 0.15 * body

    # Blocks as (kind, level, [(page, line text)]); a paragraph running on over a page break is continued.
    raw: list[tuple[str, int, list[tuple[int, str]]]] = []
    for p, lines in enumerate(clean):
        for i, ln in enumerate(lines):
            text = ln.text.strip()
            if i and not breaks(lines[i - 1], ln):
                raw[-1][2].append((p, text))
                continue
            level = heading_level(ln)
            kind = "heading" if level else "item" if BULLET.match(ln.text) else "paragraph"
            if (i == 0 and kind == "paragraph" and raw and raw[-1][0] == "paragraph"
                    and not _TERMINAL.search(raw[-1][2][-1][1])):
                raw[-1][2].append((p, text))
                continue
            raw.append((kind, level, [(p, text)]))

    out: list[str] = []
    length = 0
    blocks: list[Block] = []
    starts: list[int | None] = [None] * len(pages)
    for kind, level, lines in raw:
        if out:
            out.append("\n\n")
            length += 2
        block_start = length
        for j, (p, line) in enumerate(lines):
            if j:
                joint = join_lines(lines[j - 1][1], line, known)
                if joint == "\b":  # drop the hyphen that broke the word
                    out[-1] = out[-1][:-1]
                    length -= 1
                else:
                    out.append(joint)
                    length += len(joint)
            if starts[p] is None:
                starts[p] = length
            out.append(line)
            length += len(line)
        marker = BULLET.match(lines[0][1]) if kind == "item" else None
        blocks.append(Block(kind, block_start + (marker.end() if marker else 0), length, level))
    text = "".join(out)
    # A page spans from its first character to the next page's; an empty page starts where the next one does.
    begin = [0] * len(pages)
    nxt = len(text)
    for p in range(len(pages) - 1, -1, -1):
        nxt = starts[p] if starts[p] is not None else nxt
        begin[p] = nxt
    ends = begin[1:] + [len(text)]
    return text, blocks, list(zip(begin, ends))


# ---------------------------------------------------------------- reading with PDFium (pypdfium2)

# PDFium is not thread-safe: no two of its calls may run at once in a process, even on different
# documents. Every use of it here and in ui.pages (the page view, drawn while an upload is read)
# holds this lock, and closes what it opened before letting go.
PDFIUM_LOCK = threading.RLock()
_BREAK = re.compile("\ufffe|\r\n|[\r\n]")  # PDFium's line ends: U+FFFE is a hyphen ending a line


@functools.lru_cache(maxsize=1)
def _text_object():
    """`FPDFText_GetTextObject` returning the object's address as an int (the binding's own return
    type is a pointer object, slower to make and compare for every character)."""
    import pypdfium2.raw as raw

    function = type(raw.FPDFText_GetTextObject)(ctypes.cast(raw.FPDFText_GetTextObject, ctypes.c_void_p).value)
    function.argtypes, function.restype = (ctypes.c_void_p, ctypes.c_int), ctypes.c_void_p  # the library's calling convention kept
    return function


def page_lines(textpage) -> list[Line]:
    """The lines of one page (a `pypdfium2.PdfTextPage`), each with the baseline, size and weight of
    its longest piece of text: the longest run of characters drawn by one text object (one `Tj`/`TJ`).

    PDFium finds the lines and ends each with a generated `\\r\\n`, but a line ending in a hyphen
    is run on into the next with the hyphen as U+FFFE: that is a line end too, the hyphen kept."""
    import pypdfium2.raw as raw

    n = textpage.count_chars()
    if n <= 0:
        return []
    text = textpage.get_text_range()
    if len(text) != n:  # characters outside UCS-2, or left out of the text: one by one
        text = "".join(chr(raw.FPDFText_GetUnicode(textpage, i)) for i in range(n))
    handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
    get_object = _text_object()
    objects = [get_object(handle, i) for i in range(n)]
    x, y = ctypes.c_double(), ctypes.c_double()
    matrix = raw.FS_MATRIX()
    name = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()

    def style(i: int) -> tuple[float, float, bool]:
        """Baseline height, size on the page and boldness of the character at `i`."""
        raw.FPDFText_GetCharOrigin(textpage, i, ctypes.byref(x), ctypes.byref(y))
        scale = 1.0
        if raw.FPDFText_GetMatrix(textpage, i, ctypes.byref(matrix)):
            scale = (matrix.c ** 2 + matrix.d ** 2) ** 0.5  # the vertical scale of text space on the page
        size = raw.FPDFText_GetFontInfo(textpage, i, name, len(name), ctypes.byref(flags))  # the name's bytes, NUL too
        font = name.value.decode("utf-8", "replace").lower() if 0 < size <= len(name) else ""
        return float(y.value), float(raw.FPDFText_GetFontSize(textpage, i)) * scale, "bold" in font or "black" in font

    lines: list[Line] = []
    start = 0
    for end in [*_BREAK.finditer(text), None]:
        stop = n if end is None else end.end() if end.group() == "\ufffe" else end.start()
        words = whole_characters(_CONTROLS.sub("", text[start:stop].replace("\ufffe", "-").translate(_LIGATURES)))
        if words.strip():
            # the longest run of one object (PDFium's generated spaces within it skipped): length, first character
            best, best_at, run, run_at, last = 0, -1, 0, -1, None
            for i in range(start, stop):
                if objects[i] is None:
                    continue
                if objects[i] != last:
                    run, run_at, last = 0, -1, objects[i]
                if text[i].isspace():
                    continue
                run += 1
                run_at = i if run_at < 0 else run_at
                if run > best:
                    best, best_at = run, run_at
            lines.append(Line(words, *style(best_at)) if best_at >= 0 else Line(words))
        start = n if end is None else end.end()
    return lines


_HALF = re.compile("[\ud800-\udfff]")  # one UTF-16 half of a character outside UCS-2


def whole_characters(text: str) -> str:
    """PDFium gives a character outside UCS-2 (an emoji) as two UTF-16 halves, one per character
    index: joined back into one character here (a lone half, which no text may hold, becomes U+FFFD).

    >>> whole_characters("smile \\ud83d\\ude00!"), whole_characters("half \\ud83d."), whole_characters("plain")
    ('smile 😀!', 'half �.', 'plain')
    """
    if not _HALF.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


@functools.lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker

    return SpellChecker(language="en").word_frequency


def word_checker(pages: list[list[Line]]) -> Callable[[str], bool]:
    """Is a word real: written whole elsewhere in the document, or in pyspellchecker's English list?"""
    own = {w.lower() for lines in pages for ln in lines for w in re.findall(r"[^\W\d_]+", ln.text)}
    return lambda word: word.lower() in own or word.lower() in _english()


def _outline_titles(items, out: dict[str, int], limit: int = 5_000) -> None:
    """The PDF outline's (bookmarks') titles with their depth (1 at the top), at most `limit` of them."""
    for item in items:
        if len(out) >= limit:
            return
        title = " ".join(str(item.get_title() or "").split())
        if title and len(title) <= 120:
            out.setdefault(title, item.level + 1)


def read_pdf(data: bytes, name: str, max_pages: int | None = None) -> tuple[str, list[Block], str, list[tuple[int, int]]]:
    """`(text, blocks, title, pages)` of a PDF's text layer, or `DocumentError` naming the file
    (also when it has more than `max_pages` pages: counted from its page tree, before any is read)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    with PDFIUM_LOCK:
        doc = None
        try:
            try:
                doc = pdfium.PdfDocument(data)  # an encrypted PDF opens here only with the empty password
            except pdfium.PdfiumError as exc:
                if getattr(exc, "err_code", None) in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
                    raise DocumentError(f"{name}: encrypted PDF (a password is needed to read it); not indexed") from None
                raise
            if max_pages is not None and len(doc) > max_pages:
                raise DocumentError(f"{name}: {len(doc)} pages, over the {max_pages}-page limit "
                                    f"(index.limits.max_pdf_pages); not indexed")
            pages = []
            for i in range(len(doc)):
                page = doc[i]
                textpage = page.get_textpage()
                pages.append(page_lines(textpage))
                textpage.close()
                page.close()
            outline: dict[str, int] = {}
            with contextlib.suppress(Exception):  # a broken outline only loses its headings
                _outline_titles(doc.get_toc(max_depth=16), outline)
            title = ""
            with contextlib.suppress(Exception):
                title = " ".join((doc.get_metadata_value("Title") or "").split())
        except DocumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - a hostile file can break a parser in any way
            reason = " ".join(str(exc).split())[:80] or type(exc).__name__
            raise DocumentError(f"{name}: damaged PDF, cannot be read ({reason})") from None
        finally:
            if doc is not None:
                doc.close()
    if not pages:
        raise DocumentError(f"{name}: PDF with no pages")
    text, blocks, spans = assemble(pages, word_checker(pages), outline)
    if not text.strip():
        raise DocumentError(f"{name}: no text layer: OCR is not done (a scanned PDF?); not indexed")
    return text, blocks, title, spans
