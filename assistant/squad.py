"""SQuAD 2.0 files, typed: the one reader of the format (the eval's `--squad` and the judge's
training both read through it), and an article as the one Markdown document the assistant
indexes (`# Title`, then its paragraphs separated by blank lines, each paragraph's offset kept
so SQuAD's `answer_start` maps to the document's characters).

Left out: SQuAD 1.1's lack of `is_impossible` needs nothing (it defaults to False), and no
field is required beyond what the format's readers use; extra keys are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

class SquadDataError(ValueError):
    """A SQuAD file that cannot be read, parsed or validated; the message is one line."""


# extra="ignore": SQuAD-derived files often carry extra keys (e.g. per-answer ids); they are not ours to refuse.
class SquadAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    text: str = Field(description="The answer, verbatim from the paragraph.")
    answer_start: int = Field(ge=0, description="Character offset of the answer in the paragraph's context.")


class SquadQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    question: str
    answers: list[SquadAnswer] = Field(default_factory=list, description="Gold answers; empty when impossible.")
    is_impossible: bool = Field(False, description="True when the paragraph does not answer the question (NoAns).")
    plausible_answers: list[SquadAnswer] = Field(default_factory=list,
                                                 description="Wrong but tempting answers of an impossible question.")


class SquadParagraph(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    context: str
    qas: list[SquadQuestion]


class SquadArticle(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    title: str
    paragraphs: list[SquadParagraph]

    @property
    def name(self) -> str:
        """The title for people: `Solar_energy` -> `Solar energy`."""
        return self.title.replace("_", " ")


class SquadFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    version: str = ""
    data: list[SquadArticle]


def load_squad(path: str | Path) -> SquadFile:
    """Read and validate a SQuAD (2.0 or 1.1) JSON file, or raise `SquadDataError` with one line."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise SquadDataError(f"cannot read {path}: {reason}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SquadDataError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    try:
        squad = SquadFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "top level"
        raise SquadDataError(f"{path} is not a SQuAD 2.0 file: {where}: {first['msg']} "
                             f"({exc.error_count()} problem(s))") from None
    if not squad.data:
        raise SquadDataError(f"{path} has no articles")
    return squad


# ---------------------------------------------------------------- document text and gold spans

@dataclass(frozen=True)
class ArticleText:
    """An article as one Markdown document; `offsets[i]` is where paragraph i's context starts in `text`."""

    title: str
    text: str
    offsets: tuple[int, ...]


def article_text(article: SquadArticle) -> ArticleText:
    """The document for an article: a `# Title` heading, then the paragraphs separated by blank lines.

    >>> a = SquadArticle(title="Solar_energy", paragraphs=[SquadParagraph(context="Sun.", qas=[]),
    ...                                                     SquadParagraph(context="Heat.", qas=[])])
    >>> doc = article_text(a)
    >>> doc.text, doc.offsets
    ('# Solar energy\\n\\nSun.\\n\\nHeat.\\n', (16, 22))
    """
    parts, offsets = [f"# {article.name}"], []
    pos = len(parts[0])
    for p in article.paragraphs:
        pos += 2
        offsets.append(pos)
        parts.append(p.context)
        pos += len(p.context)
    return ArticleText(article.title, "\n\n".join(parts) + "\n", tuple(offsets))
