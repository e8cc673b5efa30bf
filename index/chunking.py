"""Cuts a loaded document into chunks and sentences with exact character offsets.

Structure first: a heading becomes the `section` of the chunks under it (headings
themselves are not chunk text); a bullet list stays with the sentence that
introduces it when the whole fits in `max_chars`; a paragraph longer than
`max_chars` is split on sentence boundaries with `overlap` sentences repeated.
Sentences come from pysbd (rule-based, handles "U.S." and "Dr."), located in the
text by search so their offsets are exact; a paragraph with no sentence end inside is
one sentence without asking pysbd, and a short paragraph met again is not split again;
a run with no sentence end is cut at spaces. The invariant everything else relies on:
`document.text[chunk.start:chunk.end] == chunk.text`, and the same for sentences.
Tables and code blocks are treated as paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .blocks import Block
from .loading import Document, page_at, strip_span as _trim


class ChunkerSettings(BaseModel):
    """How documents are cut. Part of the manifest: changing any field makes an index stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_chars: int = Field(400, ge=80, description="Largest chunk of running text, in characters (a single longer sentence is cut).")
    max_list_chars: int = Field(800, ge=80, description="Largest chunk holding a list with the sentence that introduces it: "
                                                         "a list is read as one piece when it fits.")
    overlap: int = Field(1, ge=0, le=3, description="Sentences repeated between the pieces of a long paragraph.")
    max_sentence_chars: int = Field(600, ge=40, description="Longer sentences are cut at spaces into pieces.")


class Sentence(BaseModel):
    """A sentence of a chunk; `start`/`end` index the document text. `item` marks a list item."""

    model_config = ConfigDict(extra="forbid")

    start: int
    end: int
    item: bool = False


class Chunk(BaseModel):
    """A passage of one document, the unit that retrieval returns."""

    model_config = ConfigDict(extra="forbid")

    chunk_id: str = Field(description="`doc_id#ordinal`, unique in the index.")
    doc_id: str
    section: str = Field("", description="Title of the heading the chunk sits under ('' before any heading).")
    ordinal: int = Field(description="Position of the chunk in its document, from 0.")
    page: int | None = Field(None, description="1-based PDF page the chunk starts on; None for documents without pages.")
    start: int
    end: int
    text: str
    sentences: list[Sentence]


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    item: bool


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


_FALLBACK_SPLIT = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+")
_INNER_END = re.compile(r"[.!?…。！？\n\r]")
_TRAILING = ".!?…。！？\"”’)]'"
PYSBD_LIMIT = 20_000  # pysbd slows down on huge runs of text; beyond this a regex split is used


def _pysbd_pieces(span: str) -> list[str]:
    """pysbd's sentences of `span`, without `Segmenter.segment`'s last step: it locates each
    sentence by compiling a regex of it and scanning the text from the start (quadratic, and
    a fresh compile per sentence), which `_relative_spans` does with `str.find` instead."""
    return _segmenter().processor(span).process()


CACHED_CHARS = 2_000  # short paragraphs repeat (navigation, licence lines): each is split once


@lru_cache(maxsize=4096)
def _cached_spans(span: str) -> tuple[tuple[int, int], ...] | None:
    return _relative_spans(span)


def unwrap(span: str) -> str:
    r"""`span` with the line breaks of hard-wrapped prose turned into spaces (same length, so offsets hold).

    A paragraph of a plain-text file wrapped at a fixed width (a man page, an RFC, a README) breaks
    its sentences across lines; read as they stand, every line would be a sentence of its own. A
    line break becomes a space when the next line keeps the margin of the line before (a hard wrap),
    or indents further after a line not ending in `:` (a term, `-i, --ignore-case`, and the first line
    of its description). A break before a line that starts further left, after a `:`, or next to a
    blank line stays: code and lists keep their lines.

    >>> unwrap("-c, --count\n      Print a count of\n      matching lines.")
    '-c, --count       Print a count of       matching lines.'
    >>> unwrap("for row in rows:\n    print(row)\nprint('done')")  # code: margins differ
    "for row in rows:\n    print(row)\nprint('done')"
    """
    if "\n" not in span:
        return span
    out = list(span)
    lines = span.split("\n")
    at = 0
    for before, after in zip(lines, lines[1:]):
        at += len(before)  # `at` is the break between the two lines
        b, a = before.strip(), after.strip()
        if b and a:
            ib, ia = len(before) - len(before.lstrip(" \t")), len(after) - len(after.lstrip(" \t"))
            if ia == ib or (ia > ib and not b.endswith(":")):
                out[at] = " "
        at += 1
    return "".join(out)


def _relative_spans(span: str) -> tuple[tuple[int, int], ...] | None:
    """Sentence offsets inside `span` (None: pysbd altered the text; use the regex).

    A span with no sentence end or line break before its last characters is one sentence as
    it stands, without asking pysbd. Hard-wrapped prose is read as running text (`unwrap`).

    >>> _relative_spans(" One sentence, no inner stop! "), _relative_spans("A b. C d.")
    (((1, 29),), ((0, 4), (5, 9)))
    """
    span = unwrap(span)
    body = span.strip()
    if not _INNER_END.search(body.rstrip(_TRAILING)):
        at = span.find(body)
        return ((at, at + len(body)),)
    pieces = _pysbd_pieces(span) if len(span) <= PYSBD_LIMIT else _FALLBACK_SPLIT.split(span)
    out: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = span.find(piece, cursor)
        if at < 0:
            return None
        out.append((at, at + len(piece)))
        cursor = at + len(piece)
    return tuple(out)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside `text[start:end]`, trimmed of surrounding space.

    >>> split_sentences("A b. C d.")
    [(0, 4), (5, 9)]
    """
    end = len(text) if end is None else end
    span = text[start:end]
    if not span.strip():
        return []
    spans = _cached_spans(span) if len(span) <= CACHED_CHARS else _relative_spans(span)
    if spans is None:  # pysbd altered the text: fall back to the regex for the whole span
        return _regex_sentences(text, start, end)
    return [(start + s, start + e) for s, e in spans]


def _regex_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    pos = start
    for m in _FALLBACK_SPLIT.finditer(text, start, end):
        s, e = _trim(text, pos, m.start() + len(m.group(0).rstrip()))
        if s < e:
            spans.append((s, e))
        pos = m.end()
    s, e = _trim(text, pos, end)
    if s < e:
        spans.append((s, e))
    return spans


def cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut `text[start:end]` into pieces of at most `limit` characters, at spaces when possible.

    >>> cut_long("aaa bbb ccc", 0, 11, 7)
    [(0, 7), (8, 11)]
    """
    out = []
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit + 1)
        if cut <= start:
            cut = start + limit
            # never split a surrogate-free Python str mid-character; a grapheme may still split
        s, e = _trim(text, start, cut)
        if s < e:
            out.append((s, e))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    s, e = _trim(text, start, end)
    if s < e:
        out.append((s, e))
    return out


def _units(doc: Document, block: Block, settings: ChunkerSettings) -> list[_Unit]:
    units = []
    for s, e in split_sentences(doc.text, block.start, block.end):
        for ps, pe in cut_long(doc.text, s, e, settings.max_sentence_chars):
            units.append(_Unit(ps, pe, block.kind == "item"))
    return units


TERM_CHARS = 100  # a one-line paragraph this short, without a sentence end, names what follows it


def _is_term(doc: Document, block: Block) -> bool:
    """A paragraph that names what the next one describes: one short line ending in no sentence mark, such as a
    reference page's signature (`csv.QUOTE_ALL¶`, `has_header(sample)`) or a definition's term (`%e`)."""
    text = doc.text[block.start:block.end].strip()
    return (block.kind == "paragraph" and 0 < len(text) <= TERM_CHARS and "\n" not in text
            and not text.endswith((".", "!", "?", ":", "…", "。")))


def _groups(doc: Document) -> list[tuple[str, list[Block]]]:
    """Blocks grouped into (section, blocks); a paragraph ending in ':' takes the list after it, and a run of
    terms (`_is_term`) takes the paragraph after it, so a signature is read with its description."""
    groups: list[tuple[str, list[Block]]] = []
    section = ""
    for block in doc.blocks:
        if block.kind == "heading":
            section = " ".join(doc.text[block.start:block.end].split())
            continue
        prev = groups[-1] if groups else None
        if (block.kind == "item" and prev is not None and prev[0] == section
                and (prev[1][-1].kind == "item"
                     or doc.text[prev[1][-1].start:prev[1][-1].end].rstrip().endswith(":"))):
            prev[1].append(block)
        elif (block.kind == "paragraph" and prev is not None and prev[0] == section
              and all(_is_term(doc, b) for b in prev[1])):
            prev[1].append(block)
        else:
            groups.append((section, [block]))
    return groups


def _pack(units: list[_Unit], max_chars: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing of consecutive units into pieces spanning at most `max_chars`."""
    pieces: list[list[_Unit]] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j].end - units[i].start <= max_chars:
            j += 1
        pieces.append(units[i:j])
        if j >= len(units):
            break
        # repeat `overlap` sentences, but never restart where this piece started
        i = max(j - overlap, i + 1) if not units[j].item else j
    return pieces


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Chunks of one document in reading order; `chunk.text == doc.text[chunk.start:chunk.end]`."""
    settings = settings or ChunkerSettings()
    chunks: list[Chunk] = []
    list_chars = max(settings.max_list_chars, settings.max_chars)
    for section, blocks in _groups(doc):
        units = [u for b in blocks for u in _units(doc, b, settings)]
        if not units:
            continue
        has_list = any(b.kind == "item" for b in blocks)
        limit = list_chars if has_list else settings.max_chars
        if units[-1].end - units[0].start <= limit:
            pieces = [units]
        elif blocks[0].kind != "item" and has_list:
            # A list too long to keep whole with its paragraph: the sentence that introduces
            # the list stays with the items, the rest of the paragraph goes before.
            intro = [u for u in units if not u.item]
            items = [u for u in units if u.item]
            lead = intro[-1:] if items and items[-1].end - intro[-1].start <= list_chars else []
            rest = intro[: len(intro) - len(lead)]
            pieces = _pack(rest, settings.max_chars, settings.overlap) + _pack(lead + items, list_chars, 0)
        else:
            pieces = _pack(units, limit, settings.overlap)
        for piece in pieces:
            start, end = piece[0].start, piece[-1].end
            ordinal = len(chunks)
            chunks.append(Chunk(
                chunk_id=f"{doc.doc_id}#{ordinal}", doc_id=doc.doc_id, section=section, ordinal=ordinal,
                page=page_at(doc.pages, start),
                start=start, end=end, text=doc.text[start:end],
                sentences=[Sentence(start=u.start, end=u.end, item=u.item) for u in piece],
            ))
    return chunks
