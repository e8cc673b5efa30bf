"""A PDF page drawn as an image with the quotes on it boxed, for the document view (pypdfium2).

The document text of a PDF is rebuilt from PDFium's lines (`index.pdf`: page furniture dropped,
lines joined), so its offsets are not PDFium's character indices: a quote is found on the page by its letters and digits alone
(spaces, hyphens at line ends and punctuation left out on both sides), then PDFium gives the
boxes of those characters, one per line of text. No Gradio import: unit-tested on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

WIDTH = 900          # pixels across the drawn page
FILL = (253, 224, 71, 120)
EDGE = (217, 119, 6, 255)


@dataclass
class PageView:
    """The drawn page (a PIL image), its 1-based number and the quote boxes in image pixels."""

    image: object
    page: int
    boxes: list[tuple[int, int, int, int]]


def _letters(text: str) -> tuple[str, list[int]]:
    """The lower-cased letters and digits of `text`, each with its index in `text`:
    `_letters("A-b c")` -> `('abc', [0, 2, 4])`."""
    kept, where = [], []
    for i, ch in enumerate(text):
        if ch.isalnum():
            kept.append(ch.lower())
            where.append(i)
    return "".join(kept), where


def find_quote(page_text: str, quote: str) -> tuple[int, int] | None:
    """The span of `page_text` (first and past-last character) holding `quote`, matched on letters
    and digits only; a quote that runs on to the next page matches by its start. None if absent.

    >>> find_quote("Revenue grew by twelve per-\\r\\ncent this year.", "grew by twelve percent")
    (8, 33)
    >>> find_quote("It grew. Then", "it grew.")
    (0, 8)
    """
    page, where = _letters(page_text)
    wanted, _ = _letters(quote)
    if not wanted:
        return None
    at = page.find(wanted)
    if at < 0 and len(wanted) > 40:  # runs on past the page: its opening letters, to the page's end
        at = page.find(wanted[:40])
        if at >= 0 and page.endswith(page[at:]) and len(page) - at < len(wanted):
            return where[at], where[-1] + 1
        return None
    if at < 0:
        return None
    end = where[at + len(wanted) - 1] + 1
    trail = quote.rstrip()[len(quote.rstrip().rstrip(".!?;:,\"”’)]")):]  # closing punctuation, boxed too
    if trail and page_text[end:end + len(trail)] == trail:
        end += len(trail)
    return where[at], end


def page_view(pdf: str | Path, page: int, quotes: list[str], width: int = WIDTH) -> PageView | None:
    """Page `page` (1-based) of `pdf` drawn `width` pixels wide with each of `quotes` found on it
    boxed in yellow; None when the file or page cannot be drawn (the text view still shows)."""
    try:
        import pypdfium2 as pdfium
        from PIL import Image, ImageDraw
    except ImportError:  # pragma: no cover - a dependency; without it there is no page image
        return None
    from index.pdf import PDFIUM_LOCK  # PDFium runs one call at a time in a process (an upload may be read now)

    try:
        with PDFIUM_LOCK:
            doc = pdfium.PdfDocument(str(pdf))
            try:
                if not 1 <= page <= len(doc):
                    return None
                pdf_page = doc[page - 1]
                w, h = pdf_page.get_size()
                scale = max(0.3, min(4.0, width / max(w, 1.0)))
                bitmap = pdf_page.render(scale=scale)
                image = bitmap.to_pil().convert("RGBA")  # a copy: the bitmap is closed here, under the lock,
                bitmap.close()                           # not later by the garbage collector on any thread
                text_page = pdf_page.get_textpage()
                chars = text_page.get_text_range()
                boxes: list[tuple[int, int, int, int]] = []
                for quote in quotes:
                    span = find_quote(chars, quote)
                    if span is None:
                        continue
                    for k in range(text_page.count_rects(span[0], span[1] - span[0])):
                        left, bottom, right, top = text_page.get_rect(k)
                        boxes.append((int(left * scale) - 2, int((h - top) * scale) - 2,
                                      int(right * scale) + 2, int((h - bottom) * scale) + 2))
            finally:
                doc.close()
    except Exception as exc:  # noqa: BLE001 - a page that cannot be drawn leaves the text view alone
        log.warning("could not draw page %s of %s: %s", page, Path(pdf).name, exc)
        return None
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        draw.rectangle(box, fill=FILL, outline=EDGE, width=2)
    return PageView(Image.alpha_composite(image, overlay).convert("RGB"), page, boxes)
