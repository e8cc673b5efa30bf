"""Reads `.txt`, `.md`, `.html`, `.pdf` and `.docx` files into plain text with structure marks.

Every loader returns the document text (UTF-8, newlines normalised to `\\n`) and a
list of blocks (`heading`, `paragraph`, `item`) whose offsets index into that text,
so later stages can quote it to the character. Markdown text is kept as written
(quotes can contain `*emphasis*` marks); HTML is reduced to its visible text with
headings and list items on lines of their own, scripts and styles dropped. PDF
(`index.pdf`, the text layer through PDFium, with each page's span kept in
`Document.pages`) and Word (`index.word`, python-docx, headings from paragraph
styles) are turned into text the same way; the text built from them is the text
that offsets point into. What a file is, is decided by its content, not its name:
`%PDF-` is a PDF, a ZIP holding `word/document.xml` is a Word document, anything else
must be UTF-8 text under a text name (`.txt`, `.md`, `.html`). Other formats (legacy
`.doc`, spreadsheets, images, scanned PDFs without a text layer) are reported and skipped.
Bytes already read in this process are not parsed again (`load_document`'s cache, by content hash,
type, name and limits): an upload is read once for its check and its build, and a server's later
rebuilds skip the parse of the files they read before.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import os
import re
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .blocks import BULLET, SENTENCE_END, Block, LoadLimits
from .errors import DocumentError, NoDocuments
from .word import read_docx

SUPPORTED_SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
                      ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
FORMATS = ".txt, .md, .html, .pdf or .docx"


@dataclass
class Document:
    doc_id: str
    path: str
    title: str
    text: str
    sha256: str
    blocks: list[Block] = field(default_factory=list)
    pages: list[tuple[int, int]] = field(default_factory=list)  # PDF: span of page i + 1 in `text`; [] otherwise


def page_at(pages: list[tuple[int, int]], offset: int) -> int | None:
    """The 1-based page holding character `offset`, or None for a document without pages.

    >>> page_at([(0, 10), (10, 10), (10, 25)], 12), page_at([(0, 10)], 3), page_at([], 3)
    (3, 1, None)
    """
    if not pages:
        return None
    i = bisect.bisect_right([s for s, _ in pages], offset) - 1
    return max(i, 0) + 1


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalise_newlines(text: str) -> str:
    """`normalise_newlines("a\\r\\nb\\rc") -> "a\\nb\\nc"`; also drops a leading BOM."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 bytes or raise `DocumentError` for empty, binary or non-UTF-8 files."""
    if not data.strip():
        raise DocumentError(f"{name}: empty file")
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{name}: binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text (byte {exc.start}); convert it to UTF-8") from None
    text = normalise_newlines(text)
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\t\f\v")
    if controls > 0.05 * min(len(text), 8192):
        raise DocumentError(f"{name}: looks binary (too many control characters)")
    if not text.strip():
        raise DocumentError(f"{name}: empty file")
    return text


# A word broken at the end of a hard-wrapped line by a formatter's hyphenation (`exe-` / `cuted` in a man
# page): letters, a hyphen, the line's end, then the next line's indent and lower-case letters.
_BROKEN_WORD = re.compile(r"(?<![\w-])([A-Za-z][A-Za-z-]*[A-Za-z])-\n([ \t]*)([a-z]+)")


def join_broken_words(text: str) -> str:
    """`text` with the words a formatter broke across hard-wrapped lines joined again.

    Man pages and other text set at a fixed width break long words at a line's end, either
    hyphenating them (`exe-` then `cuted` on the next line) or at a compound's own hyphen
    (`left-` then `aligned`); read as they stand they are two words that no question's words
    match. A break is joined when the next line is indented at least as deep as the line (the
    same paragraph) and starts in lower case. Whether the hyphen stays is read from the text
    itself: it stays when the hyphenated form is written elsewhere (`non-matching`) or both
    halves are words of the text and the joined word is not; it goes when the joined word is
    written elsewhere (`executed`). A break with no such evidence follows the document's
    others: joined when more of them are hyphenation than compounds, else the hyphen stays.
    An option (`--files-`) is left alone.

    >>> join_broken_words("  Commands can be exe-\\n  cuted at once, then executed.\\n")
    '  Commands can be executed at once, then executed.\\n'
    >>> join_broken_words("  to select non-\\n  matching lines, non-matching.")
    '  to select non-matching lines, non-matching.'
    >>> join_broken_words("  see --files-\\n  with-matches")
    '  see --files-\\n  with-matches'
    """
    if "-\n" not in text:
        return text
    written = text.lower()
    words = set(re.findall(r"[a-z]+", _BROKEN_WORD.sub(" ", written)))  # the text's words, not the broken halves
    # Runs of word characters and hyphens that hold a hyphen, sorted: "is `head-tail` written elsewhere" is
    # then a prefix lookup (a break's own run stops at its line end): one pass over the text for all the breaks.
    compounds = sorted({r for r in re.findall(r"(?<![\w-])[\w-]+", written) if "-" in r})

    def written_elsewhere(form: str) -> bool:
        i = bisect.bisect_left(compounds, form)
        return i < len(compounds) and compounds[i].startswith(form)
    breaks: list[tuple[re.Match, bool | None]] = []  # each break, and whether its hyphen stays (None: no evidence)
    for m in _BROKEN_WORD.finditer(text):
        head, indent, tail = m.group(1), m.group(2), m.group(3)
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text[line_start:m.start()]
        if len(indent.expandtabs()) < len(line) - len(line.lstrip(" \t")):
            continue  # the next line starts further left: not the same paragraph
        last = head.rsplit("-", 1)[-1].lower()
        if written_elsewhere(f"{head}-{tail}".lower()):
            breaks.append((m, True))
        elif f"{last}{tail}" in words:
            breaks.append((m, False))
        else:
            breaks.append((m, True if last in words and tail in words else None))
    hyphenation = sum(k is False for _, k in breaks) > sum(k is True for _, k in breaks)
    out, at = [], 0
    for m, keep in breaks:
        if keep is None:
            keep = not hyphenation
        out.append(text[at:m.start()])
        out.append(f"{m.group(1)}-{m.group(3)}" if keep else f"{m.group(1)}{m.group(3)}")
        at = m.end()
    out.append(text[at:])
    return "".join(out)


_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")


def _looks_like_heading(line: str, is_first: bool) -> bool:
    """A plain-text heading: one short line, no final punctuation, starting with a capital or digit."""
    s = line.strip()
    if not s or len(s) > 100 or BULLET.match(line):
        return False
    if SENTENCE_END.search(s) and not (is_first and s.endswith(("?", "!"))):
        return False
    return s[0].isupper() or s[0].isdigit() or is_first


def _indent(text: str, at: int) -> int:
    """Columns of white space before the first character of the line holding offset `at`."""
    line_start = text.rfind("\n", 0, at) + 1
    line = text[line_start:text.find("\n", at) if "\n" in text[at:] else len(text)]
    return len(line) - len(line.lstrip(" \t"))


def _outdented_headings(text: str, start: int, end: int, blocks: list[Block]) -> int:
    r"""Peel the headings off the top of a plain-text paragraph, appending them to `blocks`; returns where the
    rest starts. A heading here is a heading-like line (`_looks_like_heading`) in the first columns (at most
    3 spaces in) whose next line is indented further, as man pages and RFCs lay out their sections:

    >>> text = "OPTIONS\n   Matching Control\n       -i, --ignore-case\n              Ignore case."
    >>> found = []; rest = _outdented_headings(text, 0, len(text), found)
    >>> [text[b.start:b.end] for b in found], [b.level for b in found], text[rest:rest + 17]
    (['OPTIONS', 'Matching Control'], [1, 2], '-i, --ignore-case')
    """
    while True:
        nl = text.find("\n", start, end)
        if nl < 0:
            return start
        nxt, _ = strip_span(text, nl, end)
        here = _indent(text, start)
        if here > 3 or _indent(text, nxt) <= here or not _looks_like_heading(text[start:nl], False):
            return start
        s, e = strip_span(text, start, nl)
        blocks.append(Block("heading", s, e, 1 if here == 0 else 2))
        start = nxt


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]` without the white space at either end, as offsets: `strip_span(" ab ", 0, 4) -> (1, 3)`."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def text_blocks(text: str, markdown: bool = False) -> list[Block]:
    """Split text into blocks at blank lines, bullets and (Markdown) `#` headings.

    >>> [(b.kind, b.start, b.end) for b in text_blocks("Title\\n\\nA b. C d.\\n\\n- x\\n- y")]
    [('heading', 0, 5), ('paragraph', 7, 16), ('item', 20, 21), ('item', 24, 25)]
    """
    blocks: list[Block] = []
    para_start: int | None = None
    para_end = 0
    in_fence = False
    first = True

    def flush() -> None:
        nonlocal para_start, first
        if para_start is None:
            return
        s, e = strip_span(text, para_start, para_end)
        para_start = None
        if s >= e:
            return
        peeled = False
        if not markdown:
            body = _outdented_headings(text, s, e, blocks)
            peeled, s = body != s, body
        chunk = text[s:e]
        if not markdown and not peeled and "\n" not in chunk and _looks_like_heading(chunk, first):
            blocks.append(Block("heading", s, e, 1 if first else 2))
        else:
            blocks.append(Block("paragraph", s, e))
        first = False

    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\n"))
        pos += len(line)
        stripped = line.strip()
        if markdown and stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence or (markdown and stripped.startswith(("```", "~~~"))):
            if para_start is None:
                para_start = start
            para_end = end
            continue
        if not stripped:
            flush()
            continue
        heading = _MD_HEADING.match(line.rstrip("\n")) if markdown else None
        if heading:
            flush()
            s = start + heading.start(2)
            e = start + heading.end(2)
            if s < e:
                blocks.append(Block("heading", s, e, len(heading.group(1))))
                first = False
            continue
        bullet = BULLET.match(line)
        if bullet:
            flush()
            s, e = strip_span(text, start + bullet.end(), end)
            if s < e:
                blocks.append(Block("item", s, e))
                first = False
            continue
        if para_start is None:
            # A line that continues a bullet item (indented, no marker) extends that item.
            if blocks and blocks[-1].kind == "item" and line[:1] in " \t" and blocks[-1].end == start - 1:
                s, e = strip_span(text, blocks[-1].start, end)
                blocks[-1] = Block("item", s, e)
                continue
            para_start = start
        para_end = end
    flush()
    return blocks


class _HTMLText(HTMLParser):
    """Collects visible text, one line per block element, remembering headings and list items."""

    BLOCK = {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "table",
             "tr", "br", "blockquote", "pre", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption",
             "form", "hr", "address", "details", "summary", "body", "html", "td", "th"}
    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
    HIDDEN = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.blocks: list[tuple[str, int, int, int]] = []  # kind, start, end, level in `parts` text
        self.hidden = 0
        self.current: tuple[str, int] | None = None
        self.length = 0
        self.title = ""
        self._in_title = False
        self.pre = 0
        self.nav: list | None = None  # [tag, depth] of the navigation element being skipped

    def _emit(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def _break(self, kind: str = "paragraph", level: int = 0) -> None:
        self._close()
        if self.parts and not "".join(self.parts[-2:]).endswith("\n\n"):
            self._emit("\n\n" if not "".join(self.parts[-1:]).endswith("\n") else "\n")
        self.current = (kind, level)
        self.block_start = self.length

    def _close(self) -> None:
        if self.current is not None:
            self.blocks.append((self.current[0], self.block_start, self.length, self.current[1]))
            self.current = None

    def _navigation(self, tag: str, attrs) -> bool:
        """True inside site navigation (`<nav>`, `role="navigation"`: menus, tables of contents, previous/next
        links) or a heading's permalink mark (`<a class="headerlink">¶</a>`, as Sphinx and MkDocs write them),
        which are left out of the text; tracks the element's nesting to know where it ends."""
        if self.nav:
            if tag == self.nav[0]:
                self.nav[1] += 1
            return True
        if (tag == "nav" or any(k == "role" and v == "navigation" for k, v in attrs)
                or (tag == "a" and any(k == "class" and "headerlink" in (v or "").split() for k, v in attrs))):
            self.nav = [tag, 1]
            return True
        return False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.HIDDEN:
            self.hidden += 1
            return
        if self.hidden or self._navigation(tag, attrs):
            return
        if tag == "pre":
            self.pre += 1
        if tag in self.HEADINGS:
            self._break("heading", self.HEADINGS[tag])
        elif tag == "li":
            self._break("item")
        elif tag in self.BLOCK:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if self.nav:
            if tag == self.nav[0]:
                self.nav[1] -= 1
                if self.nav[1] == 0:
                    self.nav = None
            return
        if self.hidden:
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.HEADINGS or tag == "li" or tag in self.BLOCK:
            self._break()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self.hidden or self.nav:
            return
        if self.current is None:
            self.current = ("paragraph", 0)
            self.block_start = self.length
        if self.pre:
            self._emit(data)
            return
        data = re.sub(r"\s+", " ", data)
        if self.parts and self.parts[-1].endswith((" ", "\n")) and data.startswith(" "):
            data = data[1:]
        if self.length == self.block_start and data.startswith(" "):
            data = data[1:]
        self._emit(data)


def html_to_text(source: str) -> tuple[str, list[Block], str]:
    """Visible text of an HTML page, its blocks and its `<title>`.

    >>> html_to_text("<h1>T</h1><p>A <b>b</b>.</p><script>x()</script>")[0]
    'T\\n\\nA b.'
    >>> html_to_text('<nav><a>Home</a></nav><div role="navigation"><div>Contents</div></div><p>Body.</p>')[0]
    'Body.'
    >>> html_to_text('<h2>Examples<a class="headerlink" href="#ex">¶</a></h2>')[0]
    'Examples'
    """
    parser = _HTMLText()
    parser.feed(source)
    parser.close()
    parser._close()
    raw = "".join(parser.parts)
    # Rebuild the text block by block so offsets stay exact after trimming.
    out: list[str] = []
    blocks: list[Block] = []
    length = 0
    for kind, s, e, level in parser.blocks:
        piece = raw[s:e]
        ps, pe = strip_span(piece, 0, len(piece))
        piece = piece[ps:pe]
        if not piece:
            continue
        if out:
            out.append("\n\n")
            length += 2
        out.append(piece)
        blocks.append(Block(kind, length, length + len(piece), level))
        length += len(piece)
    return "".join(out), blocks, html.unescape(parser.title).strip()


def doc_id_for(path: Path, root: Path | None) -> str:
    """A stable id: the path relative to the folder it was found in, with `/` separators."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the file is called: `pdf`, `zip`, `ole` (legacy Office) or `text`.

    >>> sniff(b"%PDF-1.7 ..."), sniff(b"PK\\x03\\x04..."), sniff(b"Hello")
    ('pdf', 'zip', 'text')
    """
    if b"%PDF-" in data[:1024]:  # readers accept the header anywhere in the first kilobyte
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    return "text"


def _read_bytes(p: Path, name: str, limit: int) -> bytes:
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block forever, /dev/zero never end
            raise DocumentError(f"{name}: not a regular file")
        if st.st_size > limit:
            raise DocumentError(f"{name}: {st.st_size / 2**20:.0f} MB is over the {limit / 2**20:.0f} MB limit per file")
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise DocumentError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise DocumentError(f"{name}: over the {limit / 2**20:.0f} MB limit per file")
    return data


def load_document(path: str | os.PathLike, doc_id: str | None = None, limits: LoadLimits | None = None) -> Document:
    """Read one file into a `Document`, or raise `DocumentError` naming the file.

    The content decides the reader: a PDF or Word file is read as one whatever its name;
    text must carry a text name (`.txt`, `.md`, `.html`), which picks plain, Markdown or HTML.
    """
    limits = limits or LoadLimits()
    p = Path(path)
    name = str(p)
    named = SUPPORTED_SUFFIXES.get(p.suffix.lower())
    if named is None and not p.is_file():
        raise DocumentError(f"{name}: unsupported file type {p.suffix or '(none)'!r}; use {FORMATS}")
    data = _read_bytes(p, name, limits.max_file_bytes)
    digest = content_hash(data)
    key = (digest, named, p.stem, limits)
    read = _recall(key)
    if read is not None:  # these very bytes were read already (an upload checked, then built; a rebuild)
        title, text, blocks, pages = read
        return Document(doc_id=doc_id or p.name, path=os.path.realpath(p), title=title, text=text,
                        sha256=digest, blocks=list(blocks), pages=list(pages))
    kind = sniff(data)
    title = ""
    pages: list[tuple[int, int]] = []
    if kind == "pdf":
        from .pdf import read_pdf  # here, not at the top: it pulls in ctypes and statistics, which only a PDF needs

        text, blocks, title, pages = read_pdf(data, name, limits.max_pdf_pages)
    elif kind == "zip":
        text, blocks, title = read_docx(data, name, limits)
    elif kind == "ole":
        raise DocumentError(f"{name}: a legacy Office file (.doc, .xls, .ppt); save it as .docx or PDF")
    elif named is None:
        raise DocumentError(f"{name}: unsupported file type {p.suffix or '(none)'!r}; use {FORMATS}")
    elif named in ("pdf", "docx"):
        what = "PDF (no %PDF- header)" if named == "pdf" else "Word document (not a ZIP archive)"
        raise DocumentError(f"{name}: not a {what}; the file holds something else (text or a damaged download)")
    else:
        text = decode_text(data, name)
        if named == "html":
            text, blocks, title = html_to_text(text)
            if not text.strip():
                raise DocumentError(f"{name}: no visible text")
        else:
            if named == "text":
                text = join_broken_words(text)
            blocks = text_blocks(text, markdown=(named == "markdown"))
    if not title:
        heads = [b for b in blocks if b.kind == "heading"]
        title = text[heads[0].start:heads[0].end] if heads else p.stem
    title = title.strip()
    _remember(key, (title, text, tuple(blocks), tuple(pages)))
    return Document(doc_id=doc_id or p.name, path=os.path.realpath(p), title=title, text=text,
                    sha256=digest, blocks=blocks, pages=pages)


# What `load_document` read lately, by (content sha256, name's type, name's stem, limits): everything the
# result depends on besides the path, so the same bytes are parsed once per process (an upload is read
# when it is checked and again by the build that indexes it; a server's next upload rebuilds with the
# files it already read). At most `READ_CACHE_CHARS` characters of text are held, least recently used go.
READ_CACHE_CHARS = 64_000_000
_READ: OrderedDict[tuple, tuple[str, str, tuple[Block, ...], tuple[tuple[int, int], ...]]] = OrderedDict()
_READ_LOCK = threading.Lock()
_held = 0  # characters of text in _READ


def _recall(key: tuple) -> tuple | None:
    with _READ_LOCK:
        read = _READ.get(key)
        if read is not None:
            _READ.move_to_end(key)
        return read


def _remember(key: tuple, read: tuple) -> None:
    global _held
    with _READ_LOCK:
        old = _READ.pop(key, None)
        _held += len(read[1]) - (len(old[1]) if old else 0)
        _READ[key] = read
        while _held > READ_CACHE_CHARS and len(_READ) > 1:
            _, gone = _READ.popitem(last=False)
            _held -= len(gone[1])


def _sniff_file(p: Path) -> str:
    """`sniff` of a file's first kilobyte ('' when it cannot be read)."""
    try:
        with open(p, "rb") as f:
            return sniff(f.read(1024))
    except OSError:
        return ""


def find_files(paths: list[str | os.PathLike]) -> tuple[list[tuple[Path, str]], list[str]]:
    """Expand files and folders into `(file, doc_id)` pairs, sorted; also return problems found.

    Folders are walked without following symlinks to folders (no loops); files inside
    folders are picked by name and others skipped silently. A file named directly is taken
    when its name is supported or its content is a PDF or a ZIP (Word); otherwise it is a problem.
    The same file reached twice (by two paths or a link) is kept once.
    """
    found: list[tuple[Path, str]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}

    def add(file: Path, doc_id: str) -> None:
        real = os.path.realpath(file)
        at = seen.get(real)
        if at is None:
            seen[real] = len(found)
            found.append((file, doc_id))
        elif found[at][0].is_symlink() and not file.is_symlink():
            found[at] = (file, doc_id)  # the file itself names the document, not a link to it

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for fn in sorted(filenames):
                    f = Path(dirpath) / fn
                    if fn.startswith(".") or f.suffix.lower() not in SUPPORTED_SUFFIXES:
                        continue
                    add(f, doc_id_for(f, p))
        elif p.is_file():
            if p.suffix.lower() not in SUPPORTED_SUFFIXES and _sniff_file(p) not in ("pdf", "zip"):
                problems.append(f"{p}: unsupported file type {p.suffix or '(none)'!r}; use {FORMATS}")
                continue
            add(p, p.name)
        else:
            problems.append(f"{p}: no such file or folder")
    ids: dict[str, int] = {}
    unique: list[tuple[Path, str]] = []
    for f, doc_id in found:
        n = ids.get(doc_id, 0)
        ids[doc_id] = n + 1
        unique.append((f, doc_id if n == 0 else f"{doc_id}#{n + 1}"))
    return unique, problems


def load_documents(paths: list[str | os.PathLike], limits: LoadLimits | None = None) -> tuple[list[Document], list[str]]:
    """Load every supported file under `paths`; unreadable ones are reported, not fatal.

    Files past `limits.max_total_bytes` (read so far) are reported and skipped.
    Raises `NoDocuments` when nothing at all could be loaded.
    """
    limits = limits or LoadLimits()
    files, problems = find_files(paths)
    docs: list[Document] = []
    by_hash: dict[str, Document] = {}
    total = 0
    for f, doc_id in files:
        try:
            size = f.stat().st_size
        except OSError:
            size = 0  # load_document words the error
        if total + size > limits.max_total_bytes:
            problems.append(f"{f}: skipped, the files before it reach the {limits.max_total_bytes / 2**20:.0f} MB "
                            f"limit for one build")
            continue
        try:
            doc = load_document(f, doc_id, limits)
        except DocumentError as exc:
            problems.append(str(exc))
            continue
        total += size
        same = by_hash.get(doc.sha256)
        if same is not None:
            problems.append(f"{f}: same content as {same.doc_id}; indexed once")
            continue
        by_hash[doc.sha256] = doc
        docs.append(doc)
    if not docs:
        detail = f" ({problems[0]})" if problems else ""
        raise NoDocuments(f"no readable {FORMATS} documents in {', '.join(map(str, paths))}{detail}")
    return docs, problems
