"""What the document readers share: the blocks they mark, the limits they read within, and line marks.

`index.loading` reads text, Markdown and HTML itself and hands PDF files to `index.pdf` and Word
files to `index.word`. Each of them returns the document text with its `Block`s, whose offsets index
into that text, reads no more than `LoadLimits` allow, and tells a list item by `BULLET` and a line
that closes a sentence (so no heading) by `SENTENCE_END`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

MAX_FILE_BYTES = 64 * 1024 * 1024


class LoadLimits(BaseModel):
    """What one build reads at most. Not part of an index's identity: changing a limit never makes it stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_bytes: int = Field(MAX_FILE_BYTES, ge=1, description="A larger file is skipped and reported.")
    max_total_bytes: int = Field(1024 * 2**20, ge=1, description="Files read by one build, in bytes altogether; "
                                                                 "files past it are skipped and reported.")
    max_unpacked_bytes: int = Field(256 * 2**20, ge=1, description="A .docx whose members unpack to more is refused "
                                                                   "(a zip bomb), before anything is unpacked.")
    max_compression_ratio: float = Field(200.0, ge=1, description="A .docx member over 1 MB compressed more than "
                                                                  "this many to one is refused (a zip bomb).")
    max_zip_members: int = Field(10_000, ge=1, description="A .docx with more files inside is refused.")
    max_pdf_pages: int = Field(5_000, ge=1, description="A PDF with more pages is refused before any page is read "
                                                        "(a small file can declare a great many pages).")


@dataclass(frozen=True)
class Block:
    """A span of the document text: `kind` is `heading`, `paragraph` or `item`."""

    kind: str
    start: int
    end: int
    level: int = 0


# The marker that opens a list item: `-`, `*`, `•` and the like, or `1.` / `1)`, followed by a space.
BULLET = re.compile(r"^[ \t]*(?:[-*+•‣◦▪●–]|\d{1,3}[.)])[ \t]+")
# A numbered marker (`3.`, `2.1`, `4)`) opening a line: in a heading's font, a numbered heading.
NUMBERED = re.compile(r"^[ \t]*\d{1,3}(?:\.\d{1,3})*[.)]?[ \t]+\S")
# The last character of a line that ends (or breaks off) a sentence, which a heading's last does not.
SENTENCE_END = re.compile(r"[.!?:;,\"”’)\]]$")
