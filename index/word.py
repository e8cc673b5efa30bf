"""Reads a Word `.docx` file into plain text and blocks (python-docx).

The body is read in order: each paragraph becomes a block, separated by a blank line;
a paragraph styled `Title` or `Heading 1`..`Heading 9` (or a style based on one, or one
with an outline level) is a heading, one styled as a list (`List Bullet`, `List Number`,
`List Paragraph`...) or numbered by Word is a list item; a table row becomes one
paragraph with its cells joined by ` | `. Line breaks inside a paragraph stay `\\n`.
Before python-docx reads anything the ZIP's table of contents is checked: too many
members, too many unpacked bytes or an absurd compression ratio (a zip bomb) is
refused without unpacking. Left out: headers and footers, footnotes and comments,
text boxes, images, tracked changes (the text as it stands is read), and pages (Word
paginates when it prints; a .docx has none to keep). Legacy `.doc` files are refused.
"""

from __future__ import annotations

import io
import re
import zipfile

from .blocks import Block, LoadLimits
from .errors import DocumentError

_HEADING_STYLE = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAIN_PART = "word/document.xml"


def check_zip(data: bytes, name: str, limits: LoadLimits) -> zipfile.ZipFile:
    """The open ZIP archive, refused (DocumentError) when its table of contents promises a zip bomb.

    Only the directory is read: declared sizes are what `zipfile` stops at when it unpacks,
    so checking them bounds what python-docx can be made to inflate.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, NotImplementedError, struct.error...: all "damaged"
        raise DocumentError(f"{name}: damaged ZIP/Word file ({' '.join(str(exc).split())[:80]})") from None
    if len(members) > limits.max_zip_members:
        raise DocumentError(f"{name}: {len(members)} files inside the archive, over the {limits.max_zip_members} limit "
                            f"(a zip bomb?); not indexed")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise DocumentError(f"{name}: unpacks to {unpacked / 2**20:.0f} MB, over the "
                            f"{limits.max_unpacked_bytes / 2**20:.0f} MB limit (a zip bomb?); not indexed")
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > 2**20 and ratio > limits.max_compression_ratio:
            raise DocumentError(f"{name}: {m.filename!r} is compressed {ratio:.0f}:1, over the "
                                f"{limits.max_compression_ratio:.0f}:1 limit (a zip bomb?); not indexed")
    return archive


def _style_heading(style) -> int:
    """Heading level given by a paragraph style or the styles it is based on (0: not a heading)."""
    for _ in range(8):  # styles can be based on each other in a loop in a hand-made file
        if style is None:
            return 0
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        m = _HEADING_STYLE.match(name)
        if m:
            return min(int(m.group(1)), 6)
        style = style.base_style
    return 0


def _paragraph_kind(paragraph) -> tuple[str, int]:
    try:
        style = paragraph.style
    except (KeyError, ValueError, AttributeError):
        style = None
    level = _style_heading(style)
    ppr = paragraph._p.pPr
    if not level and ppr is not None:
        outline = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
        if outline is not None:
            value = outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val", "")
            if value.isdigit() and int(value) < 9:
                level = min(int(value) + 1, 6)
    if level:
        return "heading", level
    style_name = (getattr(style, "name", "") or "").lower()
    if style_name.startswith("list") or (ppr is not None and ppr.numPr is not None):
        return "item", 0
    return "paragraph", 0


def _clean(text: str) -> str:
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")).strip()


def _pieces(document) -> list[tuple[str, int, str]]:
    """(kind, level, text) of the body in reading order; table rows as one paragraph each."""
    out: list[tuple[str, int, str]] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):
            for row in item.rows:
                cells: list[str] = []
                seen: set[int] = set()
                for cell in row.cells:  # a merged cell is listed once per grid column it spans
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    text = " ".join(_clean(cell.text).split("\n"))
                    if text:
                        cells.append(text)
                if cells:
                    out.append(("paragraph", 0, " | ".join(cells)))
            continue
        text = _clean(item.text)
        if text:
            kind, level = _paragraph_kind(item)
            out.append((kind, level, text))
    return out


def read_docx(data: bytes, name: str, limits: LoadLimits) -> tuple[str, list[Block], str]:
    """`(text, blocks, title)` of a .docx file, or `DocumentError` naming the file."""
    archive = check_zip(data, name, limits)
    if MAIN_PART not in archive.namelist():
        raise DocumentError(f"{name}: a ZIP archive but not a Word document (no {MAIN_PART}); not indexed")
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        pieces = _pieces(document)
        title = (document.core_properties.title or "").strip()
    except Exception as exc:  # noqa: BLE001 - a hostile file can break the XML reader in any way
        reason = " ".join(str(exc).split())[:80] or type(exc).__name__
        raise DocumentError(f"{name}: damaged Word document, cannot be read ({reason})") from None
    out: list[str] = []
    blocks: list[Block] = []
    length = 0
    for kind, level, text in pieces:
        if out:
            out.append("\n\n")
            length += 2
        blocks.append(Block(kind, length, length + len(text), level))
        out.append(text)
        length += len(text)
    if not blocks:
        raise DocumentError(f"{name}: a Word document with no text")
    return "".join(out), blocks, title
