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
_NUMBER_WORD = re.compile(_HAS_NUMBER.pattern if False else r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                          r"twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several|both|"
                          r"single|double|twice)\b", re.I)
_NAME_RUN = re.compile(r"\b[A-Z][\w’'-]*(?:[ ][A-Z][\w’'-]*)*")


def question_types(question: str) -> set[str]:
    """What kind of fact the question asks for: any of `number`, `date` (a year, a day), `time`
    (any when: "during the Cold War" will do), `name`, `place`.

    >>> sorted(question_types("How many shells, and when?"))
    ['number', 'time']
    """
    kinds = set()
    if _NUMBER_Q.search(question):
        kinds.add("number")
    if _DATE_Q.search(question):
        kinds.add("date")
    elif _WHEN_Q.search(question):
        kinds.add("time")
    if _WHO_Q.search(question):
        kinds.add("name")
    if _WHERE_Q.search(question):
        kinds.add("place")
    head = which_head(question)
    if head:
        kinds.add("which:" + head)
    focus = _FOCUS_Q.search(question)
    if focus:
        nouns = [w for w in words(focus.group(1)) if w not in STOPWORDS]
        if nouns and not any(w in _GENERIC_NOUNS for w in nouns):
            kinds.add("focus:" + "|".join(nouns))
    role = _ROLE_Q.search(question)
    if role and "name" in kinds:
        # "Who is the foreign minister?": the sentence names someone right by that title.
        title = []
        for w in words(role.group(1)):
            if w in STOPWORDS or w in META_WORDS:
                break
            title.append(w)
        if title and title[-1] not in _VAGUE_ROLES:
            kinds.add("focus:" + "|".join(title))
    speaker = _SAY_Q.search(question)
    if speaker:
        # "What did China say about it?": the passage must be about what China says.
        found = _NAME_RUN.findall(speaker.group(1))
        who = [re.sub(r"[’']s$", "", n) for n in found if content_terms(n, drop_meta=True)]
        if who:
            kinds.add("speaker:" + "|".join(who))
    for year in sorted(set(_YEAR_IN_Q.findall(question))):
        kinds.add("mentions:" + year)  # "the treaty signed in 2024": a passage without 2024 is about something else
    return kinds


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


_ADJECTIVE_ENDINGS = ("ian", "ean", "ese", "ish", "ern", "ic")


def name_spans(text: str) -> list[re.Match]:
    """Capitalised words and runs of them that are not the first word, nor demonyms like "Russian"."""
    out = []
    for m in _NAME_RUN.finditer(text):
        if m.start() == 0 or text[:m.start()].rstrip().endswith((".", ":", "!", "?", "•", "“", "\"")):
            continue
        name = m.group(0)
        if " " not in name and "-" not in name and name.lower().endswith(_ADJECTIVE_ENDINGS):
            continue
        out.append(m)
    return out


def names(text: str) -> list[str]:
    """The names of `name_spans`, as text.

    >>> names("Reports say Sergey Lavrov met Russian officials in Moscow.")
    ['Sergey Lavrov', 'Moscow']
    """
    return [m.group(0) for m in name_spans(text)]


def provides(sentence: str, kind: str, question: str = "", context: str = "") -> bool:
    """Whether a sentence holds something of the asked kind: a number, a date, or a proper
    name the question does not already contain. `context` is the passage around the sentence
    (with its section title), for the kinds a passage can settle: who is speaking, a year.

    >>> provides("It waned after 1991.", "date"), provides("It waned.", "date")
    (True, False)
    >>> provides("North Korea met Russian envoys.", "name", "Who did North Korea meet?")
    False
    """
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
    if kind.startswith("focus:"):
        # "the name of the treaty": the sentence mentions the treaty and a name right by it
        wanted = {stem(w) for w in kind[6:].split("|")}
        if not wanted & set(content_terms(sentence)):
            return False
        found = _new_names(sentence, question) + re.findall(r"[“\"]([^”\"]+)[”\"]", sentence)
        return _near(sentence, wanted, found, window=3)
    if kind.startswith("speaker:"):
        have = set(content_terms(f"{context} {sentence}"))
        return all(set(content_terms(n, drop_meta=True)) <= have for n in kind[8:].split("|"))
    if kind.startswith("mentions:"):
        return bool(re.search(rf"\b{kind[9:]}\b", f"{context} {sentence}"))
    if kind.startswith("which:"):
        # "Which natural resources exactly?" is not answered by "natural resources or goods": a
        # sentence that says the thing asked about must also single some out. One that does
        # not say it may well name one in other words, so it passes.
        head = stem(kind[6:])
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


_FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|what else|why( so)?|how so|"
                        r"in what way|same for|what of|anything (?:else|more)|more on|tell me more|why not|really)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|the same|such)\b", re.I)


_CONNECTOR = re.compile(r"^\s*(?:and|but|also|so|then|and what about|what about|how about|and how about|same for|what of|and for|"
                        r"and in|in)\b\s*", re.I)


def swap_names(question: str, previous: str) -> str | None:
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
    new = _NAME_RUN.fullmatch(rest)
    if new is None:
        return None
    spans = name_spans(previous)
    if not spans:
        return None
    start, end = spans[0].start(), spans[0].end()
    rest_spans = spans[1:]
    while rest_spans and re.fullmatch(r"\s*(?:,|and|or|,\s*and)\s*", previous[end:rest_spans[0].start()]):
        end = rest_spans.pop(0).end()
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
    """
    terms = content_terms(question, drop_meta=True)
    if _FOLLOW_UP.search(question) and len(terms) <= 5:
        return True
    return len(terms) <= 2 and bool(_ANAPHORA.search(question))


# --------------------------------------------------------------- spelling

@lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1)


class Speller:
    """Corrects misspelled question words toward the corpus's own vocabulary.

    Only words of four letters or more that are neither in the corpus nor in an English
    dictionary (pyspellchecker's word list) are touched, so real words the corpus lacks
    ("weather", "sent") stay as they are; the first letter must agree and the edit distance
    must be 1 (2 for words of eight letters or more).

    >>> Speller({"russia": 5, "sending": 2}).correct("Is Rusia sendng tea?")
    'Is russia sending tea?'
    """

    def __init__(self, counts: dict[str, int]):
        self.counts = dict(counts)
        for w in STOPWORDS:
            self.counts.setdefault(w, 1)
        self.stems = {stem(w) for w in self.counts}
        self.by_initial: dict[str, list[str]] = {}
        for w in self.counts:
            if w.isalpha() and len(w) >= 3:
                self.by_initial.setdefault(w[0], []).append(w)

    @classmethod
    def from_texts(cls, texts) -> "Speller":
        counts: dict[str, int] = {}
        for text in texts:
            for w in words(text):
                for part in w.replace("’", "'").split("-"):
                    part = part.split("'")[0]
                    if part:
                        counts[part] = counts.get(part, 0) + 1
        return cls(counts)

    def suggest(self, word: str) -> str | None:
        from rapidfuzz.distance import OSA
        from rapidfuzz import process

        w = word.lower()
        if len(w) < 4 or not w.isalpha() or w in self.counts or w in META_WORDS or stem(w) in self.stems:
            return None  # known, or another form of a known word ("seek" beside "seeks")
        if _english().known([w]):
            return None
        limit = 1 if len(w) < 8 else 2
        pool = self.by_initial.get(w[0], [])
        best = None
        for cand, dist, _ in process.extract(w, pool, scorer=OSA.distance, score_cutoff=limit, limit=8):
            key = (dist, -self.counts.get(cand, 0), cand)
            if abs(len(cand) - len(w)) <= limit and (best is None or key < best[0]):
                best = (key, cand)
        return best[1] if best else None

    def correct(self, text: str) -> str:
        def fix(m: re.Match) -> str:
            word = m.group(0)
            return self.suggest(word) or word

        return re.sub(r"[^\W\d_]+", fix, text)


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
