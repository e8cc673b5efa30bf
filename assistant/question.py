"""Reads a question once into a typed `Question`: the kind of fact it asks for (a number, a
date, a name, which one of something...), whether it asks why, whether it asks for several
things, and which part of the document it points at. `analyse` runs once per question; the
retriever and the answerer read the same value.

These are English rules, and the judge (`assistant.judge`) decides what answers: the facts
asked for only feed its answer/decline decision (`missing_kind`) and say what is missing when
the assistant declines. Left out: other languages (no fact is read, nothing is required),
and any parsing beyond regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import META_WORDS, STOPWORDS, NAME_RUN, content_terms, names, stem, words

FACT_KINDS = ("number", "date", "time", "name", "place", "which", "focus", "speaker", "mentions")


@dataclass(frozen=True)
class Fact:
    """One thing the answer must hold. `kind` is one of `FACT_KINDS`; `words` says which:
    the noun a "which X" question pins down (`which`), the thing a name is asked for
    (`focus`: "the name of the spy satellite"), who is asked to have said something
    (`speaker`), a year the question names (`mentions`)."""

    kind: str
    words: tuple[str, ...] = ()

    def describe(self) -> str:
        """The fact in words, for the reader of an abstention.

        >>> Fact("number").describe(), Fact("focus", ("spy", "satellite")).describe()
        ('number', 'name for the spy satellite')
        >>> Fact("speaker", ("the United States",)).describe(), Fact("mentions", ("2024",)).describe()
        ('statement from the United States', 'mention of 2024')
        """
        if self.kind == "focus":
            return "name for the " + " ".join(self.words)
        if self.kind == "which":
            return "particular " + self.words[0]
        if self.kind == "speaker":
            return "statement from " + " or ".join(self.words)
        if self.kind == "mentions":
            return "mention of " + self.words[0]
        return self.kind


@dataclass(frozen=True)
class Question:
    """A question as read once: its text and what it asks for."""

    text: str
    facts: tuple[Fact, ...] = ()
    why: bool = False  # asks for a reason
    several: bool = False  # asks for several things ("what are", "three outcomes")
    position: str | None = None  # points at the document's "start" or "end"
    one_paragraph: bool = False  # ... and at one paragraph of it


def analyse(question: str) -> Question:
    """Read `question` once.

    >>> q = analyse("Why did the friendship cool off after 1991?")
    >>> q.why, [f.kind for f in q.facts], q.several
    (True, ['mentions'], False)
    """
    where, one = position_reference(question)
    return Question(question, _facts(question), asks_why(question), is_list_question(question), where, one)


_NUMBER_Q = re.compile(r"\b(how many|how much|what (?:number|percentage|percent|amount|proportion|share|quantity|size|sum|price|cost|figure)|"
                       r"what (?:is|was|are|were) (?:the |its |their )?(?:population|gdp|budget|salary|income|death toll|casualty count|rate|ratio|score|age|height|length|weight|distance|speed|range|capacity|value|worth)|"
                       r"number of|amount of|how (?:large|big|long|far|old|often|tall|heavy)|what (?:is|was) the (?:total|exact) (?:number|amount|value|cost|figure))\b",
                       re.I)
_DATE_Q = re.compile(r"\b(what (?:date|day|month|year|years)|which (?:date|day|month|year|years)|on what date|in what year|"
                     r"by year|how long ago|since when|what time)\b", re.I)
_WHEN_Q = re.compile(r"\bwhen\b", re.I)
_WHO_NOUNS = (r"(?:officials?|persons?|people|ministers?|leaders?|diplomats?|generals?|presidents?|companies|company|firms?|"
              r"organi[sz]ations?|agenc(?:y|ies)|banks?|newspapers?|institutions?|envoys?|ambassadors?)")
# "which officials", and with one modifier that is not a function word: "which Russian company"
_WHO_Q = re.compile(r"\b(who|whom|whose|(?:which|what) (?:(?!(?:" + "|".join(["is", "are", "was", "were", "do", "does", "did",
                    "the", "a", "an", "of", "can", "could", "would", "will", "should", "has", "have", "had"]) +
                    r")\b)[\w-]+ )?" + _WHO_NOUNS + r"|what (?:is|was|were|are) the names? of|names? of the|named|called)\b", re.I)
_WHERE_Q = re.compile(r"\b(where|in what (?:city|place|country|location)|which (?:city|place|location|venue|port|region)|what (?:city|place|location|venue))\b", re.I)

_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
                         r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|percent|half|"
                         r"single|double|twice|both)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "monday tuesday wednesday thursday friday saturday sunday").split()
_YEAR_NUMBER = r"(?:1[5-9]\d\d|20\d\d)"
_HAS_DATE = re.compile(r"\b(" + _YEAR_NUMBER + r"|\d{1,2}/\d{1,2}|\d{1,2}(?:st|nd|rd|th)|" + "|".join(_MONTHS) + r"|centur(?:y|ies)|\d0s|decades?)\b", re.I)
_HAS_TIME = re.compile(_HAS_DATE.pattern[:-3] + r"|during|since|after|before|until|era|war|years?|months?|weeks?|days?|"
                       r"recent(?:ly)?|today|yesterday|tomorrow|ago|soon|now|then|once)\b", re.I)
_YEAR = re.compile(r"\b(?:in|since|by|of|from|until) " + _YEAR_NUMBER + r"\b")
_HOW_MANY_UNIT = re.compile(r"\bhow many ([a-z][\w-]*)", re.I)
_NUMBER_WORD = re.compile(r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                          r"twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several|both|"
                          r"single|double|twice)\b", re.I)


def _facts(question: str) -> tuple[Fact, ...]:
    """What kind of fact the question asks for (see `Fact`).

    >>> [f.kind for f in _facts("How many shells, and when?")]
    ['number', 'time']
    """
    facts: list[Fact] = []
    if _NUMBER_Q.search(question):
        facts.append(Fact("number"))
    if _DATE_Q.search(question):
        facts.append(Fact("date"))
    elif _WHEN_Q.search(question):
        facts.append(Fact("time"))
    if _WHO_Q.search(question):
        facts.append(Fact("name"))
    if _WHERE_Q.search(question):
        facts.append(Fact("place"))
    head = which_head(question)
    if head:
        facts.append(Fact("which", (head,)))
    focus = _FOCUS_Q.search(question)
    if focus:
        nouns = [w for w in words(focus.group(1)) if w not in STOPWORDS]
        if nouns and not any(w in _GENERIC_NOUNS for w in nouns):
            facts.append(Fact("focus", tuple(nouns)))
    role = _ROLE_Q.search(question)
    if role and any(f.kind == "name" for f in facts):
        # "Who is the foreign minister?": the sentence names someone right by that title.
        title = []
        for w in words(role.group(1)):
            if w in STOPWORDS or w in META_WORDS:
                break
            title.append(w)
        if title and title[-1] not in _VAGUE_ROLES:
            facts.append(Fact("focus", tuple(title)))
    speaker = _SAY_Q.search(question)
    if speaker:
        # "What did China say about it?": the passage must be about what China says.
        found = NAME_RUN.findall(speaker.group(1))
        who = [re.sub(r"[’']s$", "", n) for n in found if content_terms(n, drop_meta=True)]
        if who:
            facts.append(Fact("speaker", tuple(who)))
    for year in sorted(set(_YEAR_IN_Q.findall(question))):
        facts.append(Fact("mentions", (year,)))  # "the treaty signed in 2024": a passage without 2024 is about something else
    return tuple(dict.fromkeys(facts))


# "The name of the treaty ...": the sentence must mention that thing. "Which X" questions are
# left out on purpose: the text often says X with another word ("conflict" for "war").
_FOCUS_Q = re.compile(r"\b(?:what (?:is|was|were|are) the names? of (?:the|a|an|its|their)|names? of (?:the|a|an|its|their))"
                      r"\s+((?:[a-z][\w-]*\s+)?[a-z][\w-]*)", re.I)
_ROLE_Q = re.compile(r"\b(?i:who) (?:is|was|are|were|will be|would be) (?:the |a |an )?(?:[A-Z][\w’'-]*\s+)*([a-z][\w-]*(?:\s+[a-z][\w-]*){0,3})")
_VAGUE_ROLES = frozenset("one ones person people man men woman women someone somebody behind responsible".split())
_SAY_Q = re.compile(r"\b(?:what|how) (?:did|does|do|has|have|had|will|would|could|might) (.{2,80}?) (?:say|said|state|stated|announce|"
                    r"announced|claim|claimed|think|believe|comment|commented|respond|responded|declare|declared|reply|replied|"
                    r"argue|argued|warn|warned)\b", re.I)
_YEAR_IN_Q = re.compile(r"\b(" + _YEAR_NUMBER + r")\b")
_GENERIC_NOUNS = frozenset("""
country countries nation nations city cities place places region regions capital capitals state states
person people persons leader leaders official officials minister ministers president presidents man men woman women
power powers kind kinds type types sort sorts way ways thing things part parts section sections paragraph one ones side sides
of is are was were do does did can could would will should has have had
""".split())


_WHICH = re.compile(r"\bwhich\s+((?:[\w’'-]+[?!.,;:]?\s+){1,4})", re.I)


def which_head(question: str) -> str | None:
    """The noun a "which X" question asks to pin down, when it is not a generic one.

    Without a parser: the words after "which" (adverbs like "exactly" skipped) up to a
    lower-case function word; one or two of them end in the head ("which Russian company
    would"), a longer run starts with it ("which tea needs water").

    >>> which_head("Which natural resources exactly is it bartering?"), which_head("Which tea needs water?")
    ('resources', 'tea')
    >>> which_head("Which city did he visit?") is None  # generic: "Moscow" answers it without the word
    True
    """
    m = _WHICH.search(question + " ")
    if not m:
        return None
    kept, stopped = [], False
    for w in m.group(1).split():
        if w.islower() and w.lower() in STOPWORDS:
            stopped = True
            break
        if not w.lower().endswith("ly"):
            kept.append(w.lower().strip("?!.,;:"))
    if not kept:
        return None
    head = kept[-1] if stopped and len(kept) <= 2 else kept[0]
    return None if head in _GENERIC_NOUNS or head in STOPWORDS or not head else head


# What shows that a sentence names the instances of a thing rather than just the thing:
# "including", "such as", a list it introduces, or three things in a row ("missile, nuclear, or satellite").
_INSTANCES = re.compile(r"\b(?:such as|including|includes?|like|namely|e\.g\.|for example|for instance|in particular)\b"
                        r"|:\s*$|\w+, (?:[\w-]+ ){0,3}[\w-]+,? (?:and|or) \w+", re.I)


def _new_names(sentence: str, question: str) -> list[str]:
    asked = set(content_terms(question))
    return [n for n in names(sentence) if not set(content_terms(n)) <= asked]


def _near(sentence: str, targets: set[str], found: list[str], window: int) -> bool:
    """Whether a word whose stem is in `targets` lies within `window` words of any of the `found` phrases."""
    toks = [stem(w) for w in words(sentence)]
    at = [i for i, t in enumerate(toks) if t in targets]
    spots = []
    for phrase in found:
        p = [stem(w) for w in words(phrase)]
        spots += [i + d for i in range(len(toks) - len(p) + 1) if toks[i:i + len(p)] == p for d in range(len(p))]
    return any(abs(i - j) <= window + 1 for i in at for j in spots)


def provides(sentence: str, fact: Fact, question: str = "", context: str = "") -> bool:
    """Whether a sentence holds the fact asked for: a number, a date, or a proper name the
    question does not already contain, and so on (see `Fact`). `context` is the passage around
    the sentence (with its section title), for the kinds a passage can settle: who is speaking, a year.

    >>> provides("It waned after 1991.", Fact("date")), provides("It waned.", Fact("date"))
    (True, False)
    >>> provides("North Korea met Russian envoys.", Fact("name"), "Who did North Korea meet?")
    False
    """
    kind = fact.kind
    if kind == "number":
        unit = _HOW_MANY_UNIT.search(question)
        if unit is None:  # "how much": an amount, and a bare year is not one
            return bool(_HAS_NUMBER.search(_YEAR.sub(" ", sentence)))
        # "how many days": a number must count that thing ("two days"), not any number.
        want = stem(unit.group(1).lower())
        toks = words(sentence)
        for i, w in enumerate(toks):
            if _NUMBER_WORD.fullmatch(w) and want in {stem(t) for t in toks[i + 1:i + 4]}:
                return True
        return False
    if kind == "date":
        return bool(_HAS_DATE.search(sentence))
    if kind == "time":
        # "When did the war end?" is not answered by the word "war" it asks about.
        asked = set(words(question))
        return any(m.group(0).lower() not in asked for m in _HAS_TIME.finditer(sentence))
    if kind == "focus":
        # "the name of the treaty": the sentence mentions the treaty and a name right by it
        wanted = {stem(w) for w in fact.words}
        if not wanted & set(content_terms(sentence)):
            return False
        found = _new_names(sentence, question) + re.findall(r"[“\"]([^”\"]+)[”\"]", sentence)
        return _near(sentence, wanted, found, window=3)
    if kind == "speaker":
        have = set(content_terms(f"{context} {sentence}"))
        return all(set(content_terms(n, drop_meta=True)) <= have for n in fact.words)
    if kind == "mentions":
        return bool(re.search(rf"\b{fact.words[0]}\b", f"{context} {sentence}"))
    if kind == "which":
        # "Which natural resources exactly?" is not answered by "natural resources or goods": a
        # sentence that says the thing asked about must also single some out. One that does
        # not say it may well name one in other words, so it passes.
        head = stem(fact.words[0])
        toks = words(sentence)
        at = [i for i, w in enumerate(toks) if stem(w) == head]
        if not at:
            return True
        asked = set(content_terms(question))
        # a word of its own before the thing singles one out: "black tea", "the Ukraine conflict"
        qualified = any(i > 0 and toks[i - 1] not in STOPWORDS and stem(toks[i - 1]) not in asked for i in at)
        return bool(qualified or _new_names(sentence, question) or _HAS_NUMBER.search(_YEAR.sub(" ", sentence))
                    or _INSTANCES.search(sentence))
    if kind in ("name", "place"):
        return bool(_new_names(sentence, question))
    return True


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
