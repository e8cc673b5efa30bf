"""The passage ranker (`answer.rerank`): which retrieved passage comes first.

The judge is trained to say whether a sentence answers; ordering passages by it lowered hit@1
(docs/eval.md). The ranker is the same network fine-tuned for ordering: a listwise loss over the
retriever's own candidates for a question, the sentences holding the answer as the target, on
question sets written for eighteen documents of six kinds and on SQuAD training articles
(`train/ranker.py`, `assistant judge ranker`). It reads the best few candidate sentences by retrieval support (as many as it was chosen
with, `answer.rerank_reads`) among the best `answer.rerank_passages` passages; each sentence scores `support + weight x logit` (`rank_score`; how many it
reads and the weight are chosen on text it was not trained on and stored with it), one it did not read as if its
logit were the lowest, `-LOGIT_CLIP`. Passages are ordered by their best sentence. Whether to answer
stays the judge's and the decision's, on the best sentences of the new order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from index.errors import ModelError

from .judge import Judge
from .retrieval import ScoredChunk

BUNDLED = Path(__file__).parent / "data" / "ranker"
# The shipped weights' sha256: a changed file is refused, whatever its judge.json says.
BUNDLED_SHA256 = "91dc67913024decfc8d673f6963041e642f67a91f14f7001869ba2266daaf764"
LOGIT_CLIP = 10.0
RETRAIN = "rebuild it with: assistant judge ranker --out DIR (or set answer.rerank=false)"


@dataclass(frozen=True)
class Ranker:
    """The fine-tuned network, the weight of its logit against retrieval support, and how many
    candidate sentences it reads."""

    judge: Judge
    weight: float
    reads: int = 10

    @classmethod
    def load(cls, folder: str | Path | None = None, runtime: str = "int8", threads: int = 0,
             weight: float | None = None, reads: int | None = None) -> "Ranker":
        """The ranker in `folder` (the bundled one by default), its weights checked against their sha256;
        `weight` and `reads` override the ones stored with it."""
        folder = Path(folder) if folder is not None else BUNDLED
        pinned = BUNDLED_SHA256 if folder.resolve() == BUNDLED.resolve() else None
        judge = Judge.load(folder, runtime, threads, sha256=pinned, what="ranker", retrain=RETRAIN)
        try:
            weight = float(judge.meta["rank"]["weight"]) if weight is None else weight
            reads = int(judge.meta["rank"]["reads"]) if reads is None else reads
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"ranker file {folder / 'judge.json'} gives no weight and reads: {RETRAIN}") from None
        return cls(judge, weight, reads)

    def logits(self, question: str, segments: list[str]) -> list[float]:
        """The ranker's log-odds for each segment ("Section: sentence"), in one batch."""
        return [_logit(v.probability) for v in self.judge.judge(question, segments)]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def rank_score(support: float, logit: float | None, weight: float) -> float:
    """A sentence's ranking score: its retrieval support and the ranker's log-odds (clipped to
    `LOGIT_CLIP`; a sentence the ranker did not read counts as its lowest reading).

    >>> rank_score(0.5, 2.0, 0.1), rank_score(0.5, 99.0, 0.1), rank_score(0.5, None, 0.1)
    (0.7, 1.5, -0.5)
    """
    clipped = -LOGIT_CLIP if logit is None else max(-LOGIT_CLIP, min(LOGIT_CLIP, logit))
    return support + weight * clipped


def order(ranked: list[ScoredChunk], logits: dict[int, float], weight: float) -> list[ScoredChunk]:
    """The passages by their best sentence's `rank_score` (ties: retrieval order); each sentence's
    `rank` is set to its score, which the candidates are then ordered by (`decision._order`)."""
    for c in ranked:
        for s in c.sentences:
            s.rank = rank_score(s.score, logits.get(s.index), weight)
    top = [max((s.rank for s in c.sentences), default=-math.inf) for c in ranked]
    return [ranked[i] for i in sorted(range(len(ranked)), key=lambda i: (-top[i], i))]
