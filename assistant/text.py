"""Words, stems and question shapes: the small bits of language the retriever and the
answerer share. English only; other languages fall back to plain lower-cased words."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+(?:[-’']\w+)*", re.UNICODE)

# Words that say what to do with the document rather than what to find in it; they
# must not count as content ("ignore the article and tell me ..." is just a question).
META_WORDS = frozenset("""
article articles document documents text texts passage passages post author writer report story piece
tell say says said explain describe describes mention mentions mentioned according answer question
ignore disregard forget pretend instead instructions instruction previous prompt system please kindly
summarize summarise summary know think quote quotes cite claim claims discuss discusses write
""".split())


# NLTK's English stop-word list (public domain), plus a few question and modal words.
STOPWORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under again
further then once here there when where why how all any both each few more most other some such no nor not only own
same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven
isn ma mightn mustn needn shan shouldn wasn weren won wouldn also would could may might must shall many much us
yes per via whose however else ever every whether within without upon onto toward towards among amongst
""".split())


def _stopwords() -> frozenset[str]:
    return STOPWORDS


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words, apostrophes and hyphens kept inside words.

    >>> words("Kim Jong-un’s U.S. ties")
    ['kim', 'jong-un’s', 'u', 's', 'ties']
    """
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return _stemmer().stemWord(word)


def content_terms(text: str, drop_meta: bool = False) -> list[str]:
    """Stems of the content words (stop words dropped; hyphenated words also split).

    >>> content_terms("What does North Korea seek from Russia?")
    ['north', 'korea', 'seek', 'russia']
    """
    stops = _stopwords()
    out = []
    for w in words(text):
        parts = [w] + (w.replace("’", "'").split("-") if "-" in w else [])
        for p in parts:
            if p in stops or (drop_meta and p in META_WORDS) or len(p) < 2 and not p.isdigit():
                continue
            out.append(stem(p))
    return out


# --------------------------------------------------------------- question shapes

_NUMBER_Q = re.compile(r"\b(how many|how much|what (?:number|percentage|percent|amount|proportion|share|quantity|size|sum|price|cost|figure)|"
                       r"number of|amount of|how (?:large|big|long|far|old|often|tall|heavy)|what (?:is|was) the (?:total|exact) (?:number|amount|value|cost|figure))\b",
                       re.I)
_DATE_Q = re.compile(r"\b(when|what (?:date|day|month|year|time)|which (?:date|day|month|year)|on what date|in what year|what year|how long ago|since when)\b", re.I)
_WHO_Q = re.compile(r"\b(who|whom|whose|which (?:official|person|minister|leader|diplomat|general|president|country|countries|nation|nations)|"
                    r"what (?:is|was) the name of|name of the|named|called)\b", re.I)
_WHERE_Q = re.compile(r"\b(where|in what (?:city|place|country|location)|which (?:city|place|location|venue|port|region)|what (?:city|place|location|venue))\b", re.I)

_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
                         r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|percent|half|"
                         r"single|double|twice|first|second|third)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "monday tuesday wednesday thursday friday saturday sunday").split()
_HAS_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d|\d{1,2}/\d{1,2}|" + "|".join(_MONTHS) + r"|century|decade|decades|"
                       r"cold war|during the|since the|after the collapse|years? ago)\b", re.I)
_HAS_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*")


def question_types(question: str) -> set[str]:
    """What kind of fact the question asks for: any of `number`, `date`, `name`, `place`.

    >>> sorted(question_types("How many shells, and when?"))
    ['date', 'number']
    """
    kinds = set()
    if _NUMBER_Q.search(question):
        kinds.add("number")
    if _DATE_Q.search(question):
        kinds.add("date")
    if _WHO_Q.search(question):
        kinds.add("name")
    if _WHERE_Q.search(question):
        kinds.add("place")
    return kinds


def provides(sentence: str, kind: str) -> bool:
    """Whether a sentence holds something of the asked kind (a number, a date, a proper name).

    >>> provides("It waned after 1991.", "date"), provides("It waned.", "date")
    (True, False)
    """
    if kind == "number":
        return bool(_HAS_NUMBER.search(sentence))
    if kind == "date":
        return bool(_HAS_DATE.search(sentence))
    if kind in ("name", "place"):
        return bool(_HAS_NAME.search(sentence))
    return True


_LIST_Q = re.compile(r"\b(what (?:are|were)|which|list|name (?:the|some|all)|enumerate|ways?|areas|reasons|kinds|types|forms|"
                     r"benefits|concerns|risks|motivations|purposes|dimensions|goals|aims|factors|drivers|consequences|"
                     r"implications|effects|examples|things|items|steps|options|scenarios|what (?:does|do|did|could|can|would|might) .{1,60}"
                     r"\b(?:seek|want|get|gain|offer|receive|provide|hope|expect|include|involve|fear|worry|obtain))\b", re.I)


def is_list_question(question: str) -> bool:
    """Whether the question asks for several things at once.

    >>> is_list_question("What does North Korea seek from Russia?"), is_list_question("Who is Lavrov?")
    (True, False)
    """
    return bool(_LIST_Q.search(question))


_FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|what else|why( so)?|how so|"
                        r"in what way|same for|what of|anything (?:else|more)|more on|tell me more|why not|really)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|the same|such)\b", re.I)


def is_follow_up(question: str) -> bool:
    """A short question that leans on the previous one ("and economically?", "what about Japan?").

    >>> is_follow_up("and economically?"), is_follow_up("What about Japan?"), is_follow_up("Who is Sergey Lavrov?")
    (True, True, False)
    """
    terms = content_terms(question, drop_meta=True)
    if _FOLLOW_UP.search(question) and len(terms) <= 5:
        return True
    return len(terms) <= 2 and bool(_ANAPHORA.search(question))
