"""The naive baseline every report shows beside our numbers: dense top-k over fixed-size chunks.

The document is cut into fixed windows of characters (500 with 100 of overlap, no regard
for sentences), embedded with the same model as the index, and searched by dot product.
It never abstains and never looks at history; its "answer" is the best chunk, quoted whole
with one citation. So the gap to our system shows what sentence-level chunking, hybrid
search, quote selection and abstention are worth. Nothing here is tuned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def fixed_chunks(length: int, size: int = 500, overlap: int = 100) -> list[tuple[int, int]]:
    """Character windows covering `[0, length)`: `fixed_chunks(1000, 500, 100) -> [(0, 500), (400, 900), (800, 1000)]`."""
    if size <= overlap:
        raise ValueError("chunk size must exceed the overlap")
    spans, start = [], 0
    while start < length:
        spans.append((start, min(start + size, length)))
        if start + size >= length:
            break
        start += size - overlap
    return spans


@dataclass
class BaselineAnswer:
    text: str
    quote: str
    start: int
    end: int
    score: float
    passages: list[tuple[str, int, int]]


class DenseBaseline:
    """Plain dense retrieval over fixed-size chunks of one document; the top chunk is the answer."""

    def __init__(self, document: str, embedder, size: int = 500, overlap: int = 100):
        self.document = document
        self.embedder = embedder
        self.spans = fixed_chunks(len(document), size, overlap)
        texts = [document[s:e] for s, e in self.spans]
        # embed_query runs the model's numpy twin when there is one, which spares a cold
        # run the seconds of importing torch for a few dozen chunks; the vectors are the same.
        self.vectors = np.stack([embedder.embed_query(t) for t in texts]) if texts else np.zeros((0, 1))

    def search(self, question: str, k: int = 10) -> list[tuple[str, int, int, float]]:
        """`(text, start, end, score)` of the k best chunks, best first."""
        if not self.spans:
            return []
        scores = self.vectors @ self.embedder.embed_query(question)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.document[self.spans[i][0]:self.spans[i][1]], *self.spans[i], float(scores[i])) for i in order]

    def ask(self, question: str, k: int = 10) -> tuple[BaselineAnswer, float]:
        """The answer and the milliseconds it took."""
        t0 = time.perf_counter()
        hits = self.search(question, k)
        text, start, end, score = hits[0]
        answer = BaselineAnswer(text=f"“{text}” [1]", quote=text, start=start, end=end, score=score,
                                passages=[(t, s, e) for t, s, e, _ in hits])
        return answer, (time.perf_counter() - t0) * 1000
