"""The decision: does the document answer the question? One module holds its inputs (the
judge's reading of the best candidate sentences, the retrieval scores, what the question asks),
its model (`Decision`, a logistic model fitted by `assistant judge calibrate` and loaded from
`decision.json`) and the candidates it ranks, each with the kinds of fact it lacks.

`Decider.read` has the judge read the candidates; `Decider.decide` returns a `Verdict`: the
candidates best first, the confidence, and whether (and why) to decline. Evidence can only raise
the confidence; what the question asks can only lower it (`LOWERS`): a question's form may raise
the evidence it needs, never supply it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from index import LoadedIndex
from index.errors import ModelError

from .judge import BUNDLED, Judge, Judgement, segment
from .question import NAME_WORD, STRUCTURE, Fact, Query, Question
from .rerank import Ranker, order
from .retrieval import ScoredChunk, ScoredSentence
from .settings import AnswerSettings
from .text import content_terms, stem, words

QUESTION_FLAGS = ("several", "why", "polar", "part", "unseen")  # what `question_flags` reads of the question
# The sign each weight of the decision may take: evidence (the judge's reading, the retrieval
# scores) only raises the confidence; what the question asks, and a missing kind of fact, only
# lower it. A question's form may raise the evidence it needs, never supply it: calibration fits
# within these signs and `Decision.load` refuses a file that breaks them.
LOWERS = frozenset({"missing_kind", *QUESTION_FLAGS})


@dataclass(frozen=True)
class Decision:
    """Answer or decline: a logistic model over the features `decision_features` names,
    fitted by `assistant judge calibrate` on questions about several documents, with the
    threshold chosen there. `confidence(features)` is the probability that the document answers."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    about: dict
    sentence: tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...], float] | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Decision":
        path = Path(path) if path is not None else BUNDLED / "decision.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            sent = data.get("sentence")
            sentence = None if not sent else (tuple(sent["features"]), tuple(sent["mean"]), tuple(sent["scale"]),
                                              tuple(sent["weights"]), float(sent["bias"]))
            decision = cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]),
                           tuple(data["weights"]), float(data["bias"]), float(data["threshold"]), data.get("about", {}),
                           sentence)
        except FileNotFoundError:
            raise ModelError(f"decision file {path} is missing: {CALIBRATE} (or set answer.judge=none)") from None
        except (ValueError, KeyError, TypeError):
            raise ModelError(f"decision file {path} is damaged: {CALIBRATE}") from None
        wrong = decision.wrong_signs()
        if wrong:
            raise ModelError(f"decision file {path} lets {wrong[0]} {'raise' if wrong[0] in LOWERS else 'lower'} "
                             f"the confidence: {CALIBRATE}")
        return decision

    def wrong_signs(self) -> list[str]:
        """Inputs whose weight has the wrong sign (see `LOWERS`), the sentence model's included.

        >>> Decision(("why", "support"), (0.0, 0.0), (1.0, 1.0), (0.5, 1.0), 0.0, 0.5, {}).wrong_signs()
        ['why']
        """
        wrong = [f for f, w in zip(self.features, self.weights) if (w > 0 if f in LOWERS else w < 0)]
        if self.sentence is not None:
            wrong += [f"the sentence model's {f}" for f, w in zip(self.sentence[0], self.sentence[3]) if w < 0]
        return wrong

    def confidence(self, features: dict[str, float]) -> float:
        """`sigmoid(w . (x - mean) / scale + b)` over the question's features.

        >>> d = Decision(("a",), (0.0,), (1.0,), (2.0,), -1.0, 0.5, {})
        >>> round(d.confidence({"a": 0.5}), 3)
        0.5
        """
        return _logistic(features, self.features, self.mean, self.scale, self.weights, self.bias)

    def answers(self, features: dict[str, float]) -> float:
        """The probability that one sentence answers, from `sentence_features` (the
        judge's own probability when no sentence model was fitted)."""
        if self.sentence is None:
            return 1.0 / (1.0 + float(np.exp(-features["judge_logit"])))
        return _logistic(features, *self.sentence)


def _logistic(features: dict[str, float], names, mean, scale, weights, bias: float) -> float:
    z = bias + sum(w * (features.get(f, 0.0) - m) / s for f, m, s, w in zip(names, mean, scale, weights))
    return float(1.0 / (1.0 + np.exp(-z)))


CALIBRATE = "recalibrate with: assistant judge calibrate"



# --------------------------------------------------------------- what a sentence holds
# The kinds of fact a question asks for (`question.Fact`) as a sentence may hold them: read
# loosely, so that they refuse only a quote that holds no such thing at all.

_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
                         r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|percent|half|"
                         r"single|double|twice|both)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "monday tuesday wednesday thursday friday saturday sunday").split()
_YEAR_NUMBER = r"(?:1[5-9]\d\d|20\d\d)"
_HAS_DATE = re.compile(r"\b(" + _YEAR_NUMBER + r"|\d{1,2}/\d{1,2}|\d{1,2}(?:st|nd|rd|th)|" + "|".join(_MONTHS) + r"|centur(?:y|ies)|\d0s|decades?)\b", re.I)
_YEAR = re.compile(r"\b(?:in|since|by|of|from|until) " + _YEAR_NUMBER + r"\b")

_NUMBER_WORD = re.compile(r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                          r"twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several|both|"
                          r"single|double|twice)\b", re.I)

_HAS_TIME = re.compile(r"\d|\b(?:" + "|".join(_MONTHS) + r"|centur(?:y|ies)|decades?|years?|months?|weeks?|days?|"
                       r"ago|since|until|till|before|after|during|then|now|today|yesterday|tomorrow|recent(?:ly)?|"
                       r"later|earlier|once|when|while|era|period|age|times?|early|late|season|summer|winter|spring|"
                       r"autumn|fall|night|morning|evening|dynasty|reign|war|first|last|next|previous|former|soon|"
                       r"already|yet|eventually|immediately|originally|initially|finally)\b", re.I)
_PERSON_NOUN = re.compile(r"\b(?:he|she|him|her|his|they|them|people|person|persons|man|men|woman|women|children|leaders?|"
                          r"president|minister|officials?|government|director|actors?|actress|writers?|authors?|"
                          r"founders?|king|queen|ruler|generals?|commanders?|members?|players?|team|company|"
                          r"developers?|designers?|producers?|singers?|engineers?|scientists?|researchers?|users?|"
                          r"holders?|owners?|licensees?|licensors?|recipients?|authorities|workers|staff|family|"
                          r"fans|critics|audiences?|voters|citizens|residents|soldiers|troops|emperor|pope|"
                          r"composer|pianist|artist|musician|band|group|committee|council|court|board)\b", re.I)
# Someone named by what they do ("the lighthouse keeper", "a pianist"), less words of that shape that name no one.
_AGENT = re.compile(r"\b(?!(?:other|under|never|over|after|however|whether|either|neither|rather|together|water|"
                    r"order|number|power|paper|matter|border|major|minor|error|factor|sector|colou?r|interior|"
                    r"exterior|superior|prior|floor|door|per|her|ever|further|later|earlier|former|latter|"
                    r"better|greater|higher|lower|larger|smaller|longer|older|newer|fewer|center|centre|"
                    r"summer|winter|letter|chapter|member|super|cancer|corner|monster|silver|liver|river|"
                    r"weather|fiber|fibre|layer|wonder|murder|answer|offer|anger|danger|finger|dinner|"
                    r"motor|mirror|horror|honor|honour|humor|humour|labor|labour|favor|favour|vapor|"
                    r"christian|median|meridian|indian|asian|russian|italian|canadian|persian|"
                    r"exist|list|mist|twist|wrist|assist|resist|insist|consist|persist|against|amidst)s?\b)"
                    r"[a-z]{2,}(?:er|or|ist|ian|ess|ee)s?\b", re.I)
_PLACE_NOUN = re.compile(r"\b(?:city|cities|country|countries|nation|region|capital|border|state|province|island|"
                         r"coast|town|village|area|territory|headquarters|abroad|overseas|home|site|location|"
                         r"north|south|east|west|northern|southern|eastern|western|here|there|where|inside|"
                         r"outside|near|street|building|studio|station|port|sea|ocean|river|mountain|land|world|"
                         r"continent|place|places|venue|front|base|plant|factory|market|online|"
                         # where things are kept in a computer or a text
                         r"file|files|directory|directories|folder|folders|path|root|repository|url|address|"
                         r"page|section|chapter|disk|server|host|registry|cache)\b",
                         re.I)
# A file or directory ("/etc/ssh", "~/.ssh/config", ".ninja_log"), a web or mail address: a place too.
_PLACE_TOKEN = re.compile(r"(?:~|\.{1,2})?/[\w.-]+|(?<![\w.])\.[A-Za-z_][\w.-]*|\bhttps?://|[\w.+-]+@[\w-]+\.\w")

def _new_names(sentence: str, said: frozenset[str]) -> bool:
    """Whether the sentence holds a capitalised word, past its first, that the question (`said`) does not.

    >>> from assistant.question import analyse
    >>> said = analyse("Who made it?").said
    >>> _new_names("It was made by Nintendo.", said), _new_names("It was made.", said)
    (True, False)
    """
    return any(m.start() > 0 and m.group().lower() not in said for m in NAME_WORD.finditer(sentence))


def provides(sentence: str, fact: Fact, asked: Question) -> bool:
    """Whether a sentence holds the fact `asked` asks for: a number (one counting the thing asked
    about, for "how many X"; a bare year is no amount), a date, a time, someone (a name the
    question does not hold, a word for people, or someone named by what they do) or a place.

    >>> from assistant.question import analyse
    >>> provides("The lighthouse keeper rows at dawn.", Fact("person"), analyse("Who rows?"))
    True
    >>> provides("It rows at dawn.", Fact("person"), analyse("Who rows?"))
    False
    >>> provides("It rained.", Fact("time"), analyse("When did it rain?"))
    False
    >>> provides("It waned after 1991.", Fact("date"), analyse("In what year?"))
    True
    >>> provides("It sent two ships in 2023.", Fact("number"), analyse("How many ships?"))
    True
    >>> provides("It sent ships in 2023.", Fact("number"), analyse("How many ships?"))
    False
    >>> provides("the log is kept in .ninja_log.", Fact("place"), analyse("Where is the log kept?"))
    True
    >>> provides("the log is kept for a week.", Fact("place"), analyse("Where is the log kept?"))
    False
    """
    if fact.kind == "number":
        want = asked.unit
        if want is None:  # "how much": an amount, and a bare year is not one
            return bool(_HAS_NUMBER.search(_YEAR.sub(" ", sentence)))
        # "how many days": a number must count that thing ("two days"), not any number.
        toks = words(sentence)
        for i, w in enumerate(toks):
            if _NUMBER_WORD.fullmatch(w) and want in {stem(t) for t in toks[i + 1:i + 4]}:
                return True
        return False
    if fact.kind == "date":
        return bool(_HAS_DATE.search(sentence))
    if fact.kind == "time":
        return bool(_HAS_TIME.search(sentence))
    if fact.kind == "person":
        return _new_names(sentence, asked.said) or bool(_PERSON_NOUN.search(sentence) or _AGENT.search(sentence))
    if fact.kind == "place":
        return _new_names(sentence, asked.said) or bool(_PLACE_NOUN.search(sentence) or _PLACE_TOKEN.search(sentence))
    return True


@dataclass
class Candidate:
    sentence: ScoredSentence
    chunk_rank: int  # position of the best-ranked retrieved passage that holds it
    chunk: int  # that passage's position in the index's chunks
    score: float  # what quotes are chosen by: support after the fact-kind check, or `answers` (answer.judge_orders)
    missing: set[Fact]  # facts the question asks for that the sentence does not hold
    judged: Judgement | None = None  # the judge's reading, for the sentences it read
    answers: float = 0.0  # the calibrated probability that the sentence answers (judged sentences only)



@dataclass
class Verdict:
    """What the decision says of one question: its candidates (best first), the confidence that the
    document answers, and whether to decline, with the reason to give when a kind of fact is missing."""

    candidates: list[Candidate]
    confidence: float
    declined: bool
    why: str = ""


class Decider:
    """Reads the candidates with the judge and decides; safe to share between threads."""

    def __init__(self, index: LoadedIndex, settings: AnswerSettings, judge: Judge | None = None,
                 decision: Decision | None = None, known: Callable[[str], bool] | None = None,
                 ranker: Ranker | None = None):
        self.index = index
        self.settings = settings
        self.judge = judge
        self.decision = decision
        self.ranker = ranker if judge is not None and settings.rerank else None  # `answer.rerank`'s model
        self.known = known  # whether a word's stem occurs anywhere in the index (`Retriever.knows`)
        self.section_terms = {s: frozenset(content_terms(s)) for s in {c.section for c in index.chunks}}

    def about_the_document(self, query: Query, ranked: list[ScoredChunk]) -> bool:
        """Whether the question asks about a part of the document itself and brings no subject of
        its own ("What is the article about?", "Summarise the conclusion", "What does the section on
        economic ramifications say?"): it points at passages (by position or by their section's
        title) and each of its own words is a word of structure or of that section's title. The
        passages it points at answer it, whatever the judge reads: a document's opening is what it
        is about. "Summarise the French Revolution" brings a subject, and is decided as any question."""
        titles = {t for c in ranked if c.targeted for t in self.section_terms[self.index.chunks[c.index].section]}
        if not any(c.targeted for c in ranked):
            return False
        return all(t in titles or t in STRUCTURE for t in query.own)

    def asks(self, query: Query, ranked: list[ScoredChunk]) -> dict[str, float]:
        """What the decision reads of the question itself (`question_flags`)."""
        unseen = self.known is not None and any(not self.known(t) for t in query.names)
        return question_flags(query.analysis, any(c.targeted for c in ranked), unseen)

    def read(self, query: Query, ranked: list[ScoredChunk], keep: int | None = None
             ) -> tuple[list[ScoredChunk], dict[int, Judgement]]:
        """The passages in the order answers come from, the best `keep` of them (all by default), and
        the judge's reading of their best candidate sentences, in one batch. With the ranker
        (`answer.rerank`) the passages are first ordered by it (`rerank.order`), and "best" means in its
        order; with `answer.judge_orders`, they are then re-ordered by their best judged sentence
        (unjudged ones keep their order, after)."""
        if self.judge is None or not ranked:
            return ranked[:keep], {}
        ranked = self.rank(query, ranked, keep)
        best, segments = self.judge_inputs(ranked)
        judged = dict(zip(best, self.judge.judge(query.text, segments)))
        if not self.settings.judge_orders:
            return ranked, judged
        top = {c.index: max((self.answers(judged[s.index], s) for s in c.sentences if s.index in judged), default=-1.0)
               for c in ranked}
        by = sorted(range(len(ranked)), key=lambda i: (-top[ranked[i].index], i))
        return [ranked[i] for i in by], judged

    def rank(self, query: Query, ranked: list[ScoredChunk], keep: int | None = None) -> list[ScoredChunk]:
        """The best `keep` passages (all by default) in the ranker's order (`rerank.order`: it reads the
        best candidate sentences by support, `answer.rerank_reads`); retrieval's order without a ranker."""
        if self.ranker is not None and ranked:
            rows, segments = self.judge_inputs(ranked, self.settings.rerank_reads or self.ranker.reads)
            ranked = order(ranked, dict(zip(rows, self.ranker.logits(query.text, segments))), self.ranker.weight)
        return ranked[:keep]

    def judge_inputs(self, ranked: list[ScoredChunk], n: int | None = None) -> tuple[list[int], list[str]]:
        """The sentences the judge reads for these passages (the `n` best by retrieval score, by default
        `answer.judge_candidates`; rows of the index's sentence table) and what it reads of each (`segment`)."""
        rows: dict[int, tuple[float, str]] = {}
        for chunk in ranked:
            section = self.index.chunks[chunk.index].section
            for s in chunk.sentences:
                key = _order(s)
                if s.index not in rows or rows[s.index][0] < key:
                    rows[s.index] = (key, section)
        best = sorted(rows, key=lambda r: (-rows[r][0], r))[: n or self.settings.judge_candidates]
        return best, [segment(rows[r][1], self.index.sentence_text(r)) for r in best]

    def answers(self, verdict: Judgement, s: ScoredSentence) -> float:
        """How likely a judged sentence answers: the calibrated sentence model over the judge's
        reading and the retrieval scores (the judge's own probability before calibration)."""
        if self.decision is None:
            return verdict.probability
        return self.decision.answers(sentence_features(verdict, s))

    def candidates(self, question: Question, ranked: list[ScoredChunk],
                   judged: dict[int, Judgement] | None = None) -> list[Candidate]:
        """Sentences of the retrieved passages with their support, best first (those lacking a kind
        of fact the question asks for after all the others). Judged sentences
        carry the judge's reading and the calibrated probability that they answer; with
        `answer.judge_orders` that probability is what they are ranked and chosen by (sentences
        the judge did not read then score 0)."""
        out: dict[int, Candidate] = {}
        judged = judged or {}
        for rank, chunk in enumerate(ranked):
            for s in chunk.sentences:
                if s.index in out:
                    continue
                text = self.index.sentence_text(s.index)
                missing = {f for f in question.facts if not provides(text, f, question)}
                score = s.score * (self.settings.kind_penalty if missing else 1.0)
                verdict = judged.get(s.index)
                answers = self.answers(verdict, s) if verdict is not None else 0.0
                out[s.index] = Candidate(s, rank, chunk.index, score, missing, verdict, answers)
        return sorted(out.values(), key=lambda c: (bool(c.missing), -_order(c.sentence, c.score), c.sentence.index))

    def rules_confidence(self, cands: list[Candidate]) -> float:
        """The support of the best sentence, or zero when the most relevant sentences lack the asked
        kind of fact and a clearly weaker one that has it would stand in (it is about something else)."""
        if not cands:
            return 0.0
        top = max(cands, key=lambda c: (c.sentence.score, -c.sentence.index))
        first = max(cands, key=lambda c: (not c.missing, c.score))  # cands[0] unless re-ranked
        if first.score < self.settings.kind_margin * top.sentence.score:
            return 0.0
        return max(0.0, min(1.0, first.score))

    def assess(self, query: Query, ranked: list[ScoredChunk], judged: dict[int, Judgement]
               ) -> tuple[list[Candidate], float, dict[str, float]]:
        """Candidates, the confidence that the document answers the question, and the features it came from.

        Without a judge, the confidence is `rules_confidence`; with one, it is the calibrated
        decision over `decision_features` (which reads `rules_confidence` too)."""
        cands = self.candidates(query.analysis, ranked, judged)
        rules = self.rules_confidence(cands)
        if self.judge is None:
            return cands, rules, {}
        features = decision_features(cands, rules, self.asks(query, ranked))
        confidence = self.decision.confidence(features) if self.decision is not None and cands else 0.0
        if self.settings.judge_orders:
            for c in cands:
                c.score = c.answers
            cands.sort(key=lambda c: (bool(c.missing), -c.score, c.sentence.index))
        return cands, confidence, features

    def threshold(self) -> float:
        st = self.settings
        if self.judge is None:
            return st.min_support
        if st.decline_below is not None:
            return st.decline_below
        return self.decision.threshold if self.decision is not None else 0.5


    def decide(self, query: Query, ranked: list[ScoredChunk], judged: dict[int, Judgement]) -> Verdict:
        """Answer or decline. A question asking for a kind of fact (a number, a date, a name...) is
        answered only by a quote that holds one: `candidates` puts those first, so when the first
        lacks it, none has it. A question about the document's own parts is answered by them,
        unless a threshold was set by hand."""
        cands, confidence, _ = self.assess(query, ranked, judged)
        lacking = bool(cands) and bool(cands[0].missing)
        about = self.settings.decline_below is None and self.about_the_document(query, ranked)
        declined = not cands or lacking or (confidence < self.threshold() and not about)
        why = ""
        if declined:
            top = max(cands, key=lambda c: (c.sentence.score, -c.sentence.index), default=None)
            if top is not None and top.missing and (lacking or top.sentence.score >= self.settings.min_support):
                why = f" It touches on the subject but gives no {' or '.join(sorted(f.describe() for f in top.missing))}."
        return Verdict(cands, confidence, declined, why)


SENTENCE_FEATURES = ("judge_logit", "span", "support", "dense", "lexical")
DECISION_FEATURES = ("best_logit", "margin", "judge_logit", "span", "support", "dense", "lexical", "missing_kind",
                     "rules", *QUESTION_FLAGS)


def _order(s: ScoredSentence, score: float | None = None) -> float:
    """What candidate sentences are ordered by: the ranker's score when it ran (`answer.rerank`),
    else `score` (the support after the fact-kind check) or the retrieval support."""
    return s.rank if s.rank is not None else (s.score if score is None else score)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sentence_features(verdict: Judgement, s: ScoredSentence) -> dict[str, float]:
    """What the sentence model reads: the judge's log-odds and span score beside the retrieval
    scores (the sentence's support, its cosine similarity, its share of the question's words)."""
    return {"judge_logit": _logit(verdict.probability), "span": float(np.clip(verdict.span, -20, 20)),
            "support": s.score, "dense": s.dense, "lexical": s.lexical}


def decision_features(cands: list[Candidate], rules: float, asks: dict[str, float]) -> dict[str, float]:
    """What the answer/decline decision reads: for the judged sentence most likely to answer, its
    log-odds and lead over the runner-up, the judge's own log-odds and span score, the share of
    the question's words it holds and whether it lacks the kind of fact asked for (a number, a
    date, a name...); the best retrieval support among all candidates; the best cosine similarity
    of a judged sentence to the question (`dense`: how near the document comes to the question's
    topic at all); `rules`, the
    confidence of the rules alone (`Decider.rules_confidence`); and `asks`, what the question
    itself asks for (`question_flags`)."""
    judged = sorted((c for c in cands if c.judged is not None), key=lambda c: -c.answers)
    if not judged:
        return dict.fromkeys(DECISION_FEATURES, 0.0) | {"rules": rules} | asks
    best = judged[0]
    second = judged[1].answers if len(judged) > 1 else 1e-6
    return {"best_logit": _logit(best.answers), "margin": _logit(best.answers) - _logit(second),
            "judge_logit": _logit(best.judged.probability), "span": float(np.clip(best.judged.span, -20, 20)),
            "support": max(c.sentence.score for c in cands), "dense": max(c.sentence.dense for c in judged),
            "lexical": best.sentence.lexical, "missing_kind": float(bool(best.missing)), "rules": rules} | asks


def question_flags(question: Question, points_at_part: bool, unseen: bool = False) -> dict[str, float]:
    """What the decision reads of the question itself: whether it asks for several things, for a
    reason, for yes or no, whether it points at a part of the document (its opening, its
    ending, a section by name) rather than at a fact, and whether it names something (a
    capitalised name past its first word) that no document of the index ever mentions.

    >>> from assistant.question import analyse
    >>> question_flags(analyse("Was the trip just for show?"), False)
    {'several': 0.0, 'why': 0.0, 'polar': 1.0, 'part': 0.0, 'unseen': 0.0}
    """
    return {"several": float(question.several), "why": float(question.why), "polar": float(question.polar),
            "part": float(points_at_part), "unseen": float(unseen)}


