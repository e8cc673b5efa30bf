"""The eval set's item format and the format of external predictions, as pydantic models.

Items live in JSON lines (`eval/data/grounding.jsonl`), one `EvalItem` per line. Predictions
from any system, scored with `assistant eval --predictions FILE`, are one `Prediction` per
line. Loading checks ids are unique; whether evidence is really in the article is checked by
the tests (`tests/eval/test_dataset.py`), not at load time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Category = Literal["factoid", "paraphrase", "list", "section", "followup", "typo", "steering",
                   "unanswerable_near", "unanswerable_off"]
CATEGORIES: tuple[str, ...] = Category.__args__  # report order
Split = Literal["dev", "test"]

DEFAULT_SET = Path(__file__).parent / "data" / "grounding.jsonl"


class EvalItem(BaseModel):
    """One question about the bundled article, with what a grounded answer must contain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id, `<category prefix>-<nnn>`, e.g. `fact-001`.")
    question: str = Field(min_length=1, description="The question as a reader would type it.")
    answerable: bool = Field(description="True when the article answers the question.")
    evidence: list[str] = Field(default_factory=list,
                                description="Verbatim spans of the article that answer it (empty when unanswerable).")
    answer_keys: list[list[str]] = Field(
        default_factory=list,
        description="Groups of acceptable phrases; a group is matched when any of its phrases is in the answer "
                    "(case-insensitive, whitespace-normalised).")
    category: Category = Field(description="What kind of question this is (one table row per category).")
    split: Split = Field(description="`dev` is used for tuning; `test` is never looked at while tuning.")
    history: list[str] = Field(default_factory=list,
                               description="Previous user questions for a follow-up, oldest first.")

    @model_validator(mode="after")
    def _consistent(self) -> "EvalItem":
        if self.answerable and not (self.evidence and self.answer_keys):
            raise ValueError(f"{self.id}: an answerable item needs evidence and answer_keys")
        if not self.answerable and (self.evidence or self.answer_keys):
            raise ValueError(f"{self.id}: an unanswerable item has no evidence or answer_keys")
        if any(not group or not all(k.strip() for k in group) for group in self.answer_keys):
            raise ValueError(f"{self.id}: empty answer key group or phrase")
        return self


class PredictedCitation(BaseModel):
    """A quote a system cited. Offsets are optional: without them the quote is looked up in the article."""

    model_config = ConfigDict(extra="ignore")

    quote: str
    start: int | None = None
    end: int | None = None
    doc_id: str | None = None


class PredictedPassage(BaseModel):
    """A passage a system retrieved, best first."""

    model_config = ConfigDict(extra="ignore")

    text: str
    start: int | None = None
    end: int | None = None


class Prediction(BaseModel):
    """One system output for one eval item, as read by `assistant eval --predictions FILE`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="The eval item's id.")
    answer: str = Field("", description="The answer text (quotes followed by `[n]` markers, if the system uses them).")
    abstained: bool = Field(False, description="True when the system declined to answer.")
    citations: list[PredictedCitation] = Field(default_factory=list)
    passages: list[PredictedPassage] = Field(default_factory=list, description="Retrieved passages, best first.")
    confidence: float | None = Field(None, description="Optional score; enables the abstention curve.")


class DataError(ValueError):
    """An eval set or predictions file that cannot be read. The message names the file and line."""


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(model.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            first = str(exc).splitlines()
            detail = first[0] if len(first) < 3 else f"{first[0]}: {first[1]} {first[2].strip()}"
            raise DataError(f"{path}:{lineno}: {detail}") from None
    ids = [r.id for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DataError(f"{path}: duplicate ids {', '.join(dupes[:5])}")
    return rows


def load_items(path: Path | str = DEFAULT_SET, split: str = "all") -> list[EvalItem]:
    """Eval items from a JSON-lines file, keeping only `split` (`dev`, `test` or `all`)."""
    if split not in ("dev", "test", "all"):
        raise DataError(f"unknown split {split!r}: use dev, test or all")
    items = _read_jsonl(Path(path), EvalItem)
    return [it for it in items if split == "all" or it.split == split]


def load_predictions(path: Path | str) -> dict[str, Prediction]:
    """Predictions by item id from a JSON-lines file."""
    return {p.id: p for p in _read_jsonl(Path(path), Prediction)}
