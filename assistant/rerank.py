"""A re-ranker of the retriever's candidate sentences fitted for ranking (`answer.rerank`).

The judge reads the best `answer.rerank` candidate sentences by retrieval support (instead of
`answer.judge_candidates`); each is scored by a linear model over its support and the judge's
log-odds, fitted with a listwise loss (softmax cross-entropy over a question's judged sentences,
the ones holding the answer as the target) on SQuAD calibration articles the judge never saw
(`train/rerank.py`, `assistant judge rerank`). The judged sentences come first in that order,
the others after in retrieval order; passages are ordered by their best sentence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from index.errors import ModelError

BUNDLED = Path(__file__).parent / "data" / "judge" / "rerank.json"
FEATURES = ("support", "judge_logit", "span")
REFIT = "refit with: assistant judge rerank"


@dataclass(frozen=True)
class Reranker:
    """`score = sum(w * (x - mean) / scale)` over `features` (names of `FEATURES`)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    about: dict

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Reranker":
        path = Path(path) if path else BUNDLED
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                        tuple(map(float, data["weights"])), data.get("about", {}))
        except FileNotFoundError:
            raise ModelError(f"re-ranker file {path} is missing: {REFIT} (or set answer.rerank=0)") from None
        except (ValueError, KeyError, TypeError):
            raise ModelError(f"re-ranker file {path} is damaged: {REFIT}") from None
        if (set(model.features) - set(FEATURES) or len({len(model.features), len(model.mean), len(model.scale),
                                                         len(model.weights)}) != 1 or 0.0 in model.scale):
            raise ModelError(f"re-ranker file {path} does not fit this version: {REFIT}")
        return model

    def score(self, features: dict[str, float]) -> float:
        """The sentence's ranking score.

        >>> round(Reranker(("support", "judge_logit"), (0.5, 0.0), (0.1, 2.0), (1.0, 1.0), {}).score(
        ...     {"support": 0.6, "judge_logit": 2.0}), 6)
        2.0
        """
        return sum(w * (features[f] - m) / s for f, m, s, w in zip(self.features, self.mean, self.scale, self.weights))


def rank_features(support: float, probability: float, span: float) -> dict[str, float]:
    """What the re-ranker reads of one judged sentence."""
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return {"support": support, "judge_logit": math.log(p / (1 - p)), "span": max(-20.0, min(20.0, span))}
