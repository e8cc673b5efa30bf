"""Reads a question once into a typed `Question`: the kind of fact it asks for (a number, a
date, a name, which one of something...), whether it asks why, whether it asks for several
things, and which part of the document it points at. `analyse` runs once per question; the
retriever and the answerer read the same value.

These are English rules, and the judge (`assistant.judge`) decides what answers: the facts
asked for feed its answer/decline decision (`missing_kind`, and the rules' own confidence) and
say what is missing when the assistant declines. Left out: other languages (no fact is read, nothing is required),
and any parsing beyond regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .text import NAME_RUN, Wording, name_spans, stem, wording

FACT_KINDS = ("number", "date", "time", "person", "place")


@dataclass(frozen=True)
class Fact:
    """One thing the answer must hold: a number (`number`: "how many", "how much"), a date
    (`date`: "in what year", "on what date"), a time of any kind (`time`: "when did ..."), a
    name of someone (`person`: "who ...") or of a place (`place`: "where ..."). The first quote
    of an answer must hold every fact asked for, or the assistant declines (`Decider.decide`);
    the last three are read loosely (any temporal word; any name the question does not already
    hold), so they refuse only a quote that holds no such thing at all."""

    kind: str

    def describe(self) -> str:
        """The fact in words, for the reader of an abstention.

        >>> Fact("number").describe(), Fact("person").describe(), Fact("time").describe()
        ('number', 'name of a person', 'time')
        """
        return {"person": "name of a person", "place": "place"}.get(self.kind, self.kind)


@dataclass(frozen=True)
class Question:
    """A question as read once: its text and what it asks for."""

    text: str
    facts: tuple[Fact, ...] = ()
    why: bool = False  # asks for a reason
    several: bool = False  # asks for several things ("what are", "three outcomes")
    position: str | None = None  # points at the document's "start" or "end"
    one_paragraph: bool = False  # ... and at one paragraph of it
    polar: bool = False  # asks yes or no ("Was the trip just for show?")
    unit: str | None = None  # the stem of what "how many X" counts
    said: frozenset[str] = frozenset()  # its words and names, lower-cased: a sentence's new name is none of these


@dataclass
class Query:
    """What is searched: text to embed and weighted content terms (follow-ups weigh the earlier turn less)."""

    text: str
    terms: dict[str, float]
    question: str = ""  # the current question alone (after spelling correction)
    follow_up: bool = False  # `text` joins an earlier question; the current one is embedded on its own too
    analysis: Question = field(default_factory=lambda: Question(""))  # what the current question asks for
    own: tuple[str, ...] = ()  # the current question's own content terms, meta words left out
    names: frozenset[str] = frozenset()  # the stems of the names the current question holds


def make_query(question: str, previous: str | None = None, previous_weight: float = 0.5) -> Query:
    """A query for `question`, leaning on `previous` (the resolved earlier question) for follow-ups.

    A follow-up that only names something else ("and Japan?") is the earlier question asked
    about that instead; other follow-ups search the earlier question's words at `previous_weight`.

    >>> make_query("and economically?", "How does South Korea react?").terms
    {'econom': 1.0, 'south': 0.5, 'korea': 0.5, 'react': 0.5}
    >>> make_query("and Japan?", "How does South Korea react?").text
    'How does Japan react?'
    """
    return _query(*_reading(question, previous, lean=True), previous_weight)


def _reading(question: str, previous: str | None, lean: bool) -> tuple[str, str | None, Wording, Wording | None]:
    """The question, the earlier question it leans on (None when it does not: `lean` says it must
    when there is one) and the words of both, read once. A follow-up that only names something
    else is the earlier question asked about that (`swap_names`), leaning on nothing."""
    read, earlier = wording(question), wording(previous) if previous else None
    if previous is None or earlier is None or not (lean or _follows(question, read.own)):
        return question, None, read, None
    swapped = swap_names(question, previous, earlier.spans)
    return (swapped, None, wording(swapped), None) if swapped else (question, previous, read, earlier)


def _query(question: str, previous: str | None, read: Wording, earlier: Wording | None,
           previous_weight: float = 0.5) -> Query:
    """`make_query` with the words of `question` and `previous` already read."""
    terms: dict[str, float] = {}
    for t in read.own:
        terms[t] = 1.0
    text = question
    if previous and earlier:
        for t in earlier.own:
            terms.setdefault(t, previous_weight)
        text = f"{previous} {question}"
    if not terms:  # a question made only of meta words still searches something
        for t in read.terms:
            terms[t] = 1.0
    return Query(text=text, terms=terms, question=question, follow_up=bool(previous),
                 analysis=_analyse(question, read), own=read.own, names=frozenset(read.names))


def read(question: str, history: Sequence[str] | None, correct: Callable[[str], str], max_history: int,
         max_chars: int) -> Query:
    """The question read once, into what every later step uses: spelling corrected (`correct`), and
    a follow-up ("and economically?") searched with the earlier question it leans on. Only the last
    `max_history` turns matter, and none longer than a question may be."""
    previous = None
    for earlier in (list(history or [])[-max_history:] if max_history else []):
        if not isinstance(earlier, str) or not earlier.strip() or len(earlier) > max_chars:
            continue
        earlier = correct(earlier.encode("utf-8", "replace").decode("utf-8"))
        previous = make_query(earlier, previous).text if (previous and is_follow_up(earlier)) else earlier
    question = correct(question)
    return _query(*_reading(question, previous, lean=False))  # its words (and the earlier question's), read once


_FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|what else|"
                        r"in what way|same for|what of|anything (?:else|more)|more on|tell me more)\b", re.I)
# These lean on the previous question only when they bring no subject of their own ("Why?",
# "Why did they?"): "Why do cats purr?" is a new question.
_BARE_FOLLOW_UP = re.compile(r"^\s*(why( so| not)?|how so|how come|really)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|the same|such)\b", re.I)


_CONNECTOR = re.compile(r"^\s*(?:and|but|also|so|then|and what about|what about|how about|and how about|same for|what of|and for|"
                        r"and in|in)\b\s*", re.I)


def swap_names(question: str, previous: str, spans: Sequence[tuple[int, int]] | None = None) -> str | None:
    """The earlier question asked again about another name, for a follow-up that is only a name.

    Only when the earlier question names one thing (or several joined by "and"), and not as one
    side of a relation ("between North Korea and Russia"): otherwise which name to replace is a
    guess, and None lets the caller search both questions together.

    >>> swap_names("And Russia's?", "What is North Korea's long-term goal?")
    "What is Russia's long-term goal?"
    >>> swap_names("what about Japan?", "How do South Korea and China see the alliance?")
    'How do Japan see the alliance?'
    >>> swap_names("and economically?", "What does Russia offer?") is None
    True
    >>> swap_names("What about Japan?", "How did ties between North Korea and Russia change?") is None
    True
    """
    rest = _CONNECTOR.sub("", question, count=1).strip().rstrip("?!. ")
    new = NAME_RUN.fullmatch(rest)
    if new is None:
        return None
    spans = list(spans if spans is not None else (m.span() for m in name_spans(previous)))  # the earlier names
    if not spans:
        return None
    start, end = spans[0]
    rest_spans = spans[1:]
    while rest_spans and re.fullmatch(r"\s*(?:,|and|or|,\s*and)\s*", previous[end:rest_spans[0][0]]):
        end = rest_spans.pop(0)[1]
    if rest_spans or re.search(r"\b(?:between|among|amongst)\s*$", previous[:start], re.I):
        return None
    old = previous[start:end]
    name = new.group(0)
    if re.search(r"[’']s$", old) and not re.search(r"[’']s$", name):
        name += old[-2:]
    return previous[:start] + name + previous[end:]


def is_follow_up(question: str) -> bool:
    """A short question that leans on the previous one ("and economically?", "what about Japan?").

    >>> is_follow_up("and economically?"), is_follow_up("What about Japan?"), is_follow_up("Who is Sergey Lavrov?")
    (True, True, False)
    >>> is_follow_up("Why?"), is_follow_up("why is that"), is_follow_up("Why do cats purr?")
    (True, True, False)
    """
    return _follows(question, wording(question).own)


def _follows(question: str, terms: tuple[str, ...]) -> bool:
    """`is_follow_up` given the question's own content terms."""
    if _FOLLOW_UP.search(question) and len(terms) <= 5:
        return True
    if _BARE_FOLLOW_UP.search(question) and not terms:
        return True
    return len(terms) <= 2 and bool(_ANAPHORA.search(question))



def analyse(question: str) -> Question:
    """Read `question` once.

    >>> q = analyse("Why did the friendship cool off, and in what year?")
    >>> q.why, [f.kind for f in q.facts], q.several
    (True, ['date'], False)
    """
    return _analyse(question, wording(question))


def _analyse(question: str, read: Wording) -> Question:
    """`analyse` with the question's words already read."""
    where, one = position_reference(question)
    unit = _HOW_MANY_UNIT.search(question)
    counted = unit.group(1).lower() if unit else None
    return Question(question, _facts(question), asks_why(question), is_list_question(question), where, one,
                    asks_yes_no(question), (read.stems.get(counted) or stem(counted)) if counted else None,
                    _said(question, read))


_NUMBER_Q = re.compile(r"\b(how many|how much|what (?:number|percentage|percent|amount|proportion|share|quantity|size|sum|price|cost|figure)|"
                       r"what (?:is|was|are|were) (?:the |its |their )?(?:population|gdp|budget|salary|income|death toll|casualty count|rate|ratio|score|age|height|length|weight|distance|speed|range|capacity|value|worth)|"
                       r"number of|amount of|how (?:large|big|long|far|old|often|tall|heavy)|what (?:is|was) the (?:total|exact) (?:number|amount|value|cost|figure))\b",
                       re.I)
_DATE_Q = re.compile(r"\b(what (?:date|day|month|year|years)|which (?:date|day|month|year|years)|on what date|in what year|"
                     r"by year|how long ago|since when|what time)\b", re.I)
_HOW_MANY_UNIT = re.compile(r"\bhow many ([a-z][\w-]*)", re.I)


_TIME_Q = re.compile(r"^\W*when (?:did|was|were|will|had|has|have)\b", re.I)
_PERSON_Q = re.compile(r"^\W*(?:who|whom)\b(?! (?:is|are|was|were) (?:it|this|that) (?:for|about)\b)", re.I)
_PLACE_Q = re.compile(r"^\W*where (?:is|are|was|were|did|does|do|can|could|will|would|has|have|had)\b", re.I)
NAME_WORD = re.compile(r"\b[A-Z][\w’'-]*")  # a capitalised word


def _facts(question: str) -> tuple[Fact, ...]:
    """What kind of fact the question asks for (see `Fact`).

    >>> [f.kind for f in _facts("How many shells, and in what year?")]
    ['number', 'date']
    >>> [f.kind for f in _facts("Who wrote it?")], [f.kind for f in _facts("When did it start?")]
    (['person'], ['time'])
    """
    facts = []
    if _NUMBER_Q.search(question):
        facts.append(Fact("number"))
    if _DATE_Q.search(question):
        facts.append(Fact("date"))
    elif _TIME_Q.search(question):
        facts.append(Fact("time"))
    if _PERSON_Q.search(question):
        facts.append(Fact("person"))
    if _PLACE_Q.search(question):
        facts.append(Fact("place"))
    return tuple(facts)


def _said(question: str, read: Wording) -> frozenset[str]:
    """The question's words and names, lower-cased (`Question.said`)."""
    return frozenset({w.lower() for w in NAME_WORD.findall(question)} | set(read.words))


_WHY_Q = re.compile(r"\bwhy\b|\bwhat (?:drives|drove|motivates|motivated|explains|caused|causes|is behind)\b|\bfor what reasons?\b|"
                    r"\bhow come\b", re.I)
_CAUSE = re.compile(r"\b(?:because|due to|driven by|rooted in|motivat\w*|reasons?|given|seeks?|seeking|in order to|so as to|"
                    r"aims? to|stems? from|owing to|results? of|as a result|thanks to|leads? to|fuel(?:l)?ed by|out of|purposes?|"
                    r"motives?|so that|intended to|designed to)\b", re.I)


def asks_why(question: str) -> bool:
    """Whether the question asks for a reason.

    >>> asks_why("Why did the friendship cool off?"), asks_why("What drives the alliance?"), asks_why("Who is Lavrov?")
    (True, True, False)
    """
    return bool(_WHY_Q.search(question))


def states_cause(sentence: str) -> bool:
    """Whether a sentence words a reason ("because", "driven by", "given", "seeks").

    >>> states_cause("It is rooted in ideology."), states_cause("It is strong.")
    (True, False)
    """
    return bool(_CAUSE.search(sentence))


_POLAR_Q = re.compile(r"^\W*(?:is|are|was|were|am|do|does|did|can|could|will|would|shall|should|has|have|had|"
                      r"may|might|must)(?:n't| not)?\b", re.I)


def asks_yes_no(question: str) -> bool:
    """Whether the question asks yes or no: it opens with an auxiliary verb.

    >>> asks_yes_no("Was the trip just for show?"), asks_yes_no("Why was the trip made?")
    (True, False)
    """
    return bool(_POLAR_Q.search(question))


_LIST_Q = re.compile(r"\b(what (?:are|were)|which [a-z]+s|list|name (?:the|some|all)|enumerate|ways?|areas|reasons|kinds|types|forms|"
                     r"benefits|concerns|risks|motivations|purposes|dimensions|goals|aims|factors|drivers|consequences|"
                     r"implications|effects|examples|things|items|steps|options|scenarios|outcomes|results|impacts|threats|dangers|"
                     r"problems|challenges|advantages|disadvantages|features|elements|components|measures|responses|reactions|"
                     r"(?<!the )(?<!these )(?<!those )(?:two|three|four|five|six|seven|eight|nine|ten|several|\d+) [a-z]+s|"
                     r"what (?:does|do|did|could|can|would|might) .{1,60}"
                     r"\b(?:seek|want|get|gain|offer|receive|provide|hope|expect|include|involve|fear|worry|obtain))\b", re.I)


def is_list_question(question: str) -> bool:
    """Whether the question asks for several things at once.

    >>> is_list_question("What does North Korea seek from Russia?"), is_list_question("Who is Lavrov?")
    (True, False)
    """
    return bool(_LIST_Q.search(question))


# --------------------------------------------------------------- section references

# Stems of the words a question uses to point at the document's own parts rather than at a subject.
STRUCTURE = frozenset(stem(w) for w in """
section sections part parts paragraph paragraphs chapter chapters heading headings introduction intro opening
beginning start conclusion conclusions ending end closing final first last lead overall whole main point points
idea ideas gist overview thesis takeaway takeaways message argument arguments topic topics theme themes
background content contents covered cover covers article articles document documents text texts post piece report
story passage summary summarise summarize say says tell explain describe""".split())

_OPENING = re.compile(r"\b(introduction|intro|opening|beginning|start of the (?:article|document|text|piece)|"
                      r"first (?:paragraph|section|part)|lead paragraph)\b", re.I)
# A question about the whole piece is answered where the piece states its case, its opening.
_WHOLE = re.compile(r"\b(main (?:argument|point|idea|claim|message|thesis|topic|takeaway)s?|summar(?:y|i[sz]e)|gist|overview|"
                    r"tl;?dr|what is (?:the|this) (?:article|document|text|piece|post|report) about)\b", re.I)
_PART = re.compile(r"\b(part|section|paragraph|chapter|bit|passage)s?\b", re.I)
_ENDING = re.compile(r"\b(conclusion|conclude|concluding|ending|closing|end of the (?:article|document|text|piece)|"
                     r"last (?:paragraph|section|part|lines?)|final (?:paragraph|section|part|lines?|words|thoughts))\b", re.I)
_ONE_PARAGRAPH = re.compile(r"\b(?:first|last|final|opening|closing) paragraph\b", re.I)


def position_reference(question: str) -> tuple[str | None, bool]:
    """Whether the question points at the opening or the ending of a document, and at one paragraph only.

    >>> position_reference("What does the conclusion say?"), position_reference("Summarise the first paragraph")
    (('end', False), ('start', True))
    """
    where = "start" if _OPENING.search(question) else "end" if _ENDING.search(question) else None
    if where is None and _WHOLE.search(question) and not _PART.search(question):
        where = "start"
    return where, bool(where and _ONE_PARAGRAPH.search(question))
