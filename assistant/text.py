"""Words, stems, names and spelling: the small bits of language the retriever and the decision
share (a question, follow-ups included, is read in `question.py`). English only; other
languages fall back to plain lower-cased words."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


# A command-line option written with one dash ("-r", "-E", "-print0"): after a space, an opening
# bracket or quote, or at the start, never inside a word ("U.S.-led", "Jong-un") nor a long option
# ("--count", which is read as words).
_OPTION = re.compile(r"(?:^|(?<=[\s(\[{,;\"'`“‘]))-([A-Za-z][A-Za-z0-9]*)\b")


def options(text: str) -> list[str]:
    """The one-dash command-line options of a text, as terms: one letter keeps its case ("-r" and
    "-R" are different options), longer ones are lower-cased.

    >>> options("grep -r, -R or -print0, not --count nor U.S.-led or Jong-un")
    ['-r', '-R', '-print0']
    """
    return ["-" + (m.group(1) if len(m.group(1)) == 1 else m.group(1).lower()) for m in _OPTION.finditer(text)]


_CONTRACTION = re.compile(r"\w+['’](?:s|t|re|ve|ll|d|m)")


def content_terms(text: str, drop_meta: bool = False) -> list[str]:
    """Stems of the content words (stop words dropped; hyphenated words also split), then the
    command-line options it names (`options`), whose letters alone are no words.

    >>> content_terms("What does North Korea seek from Russia?")
    ['north', 'korea', 'seek', 'russia']
    >>> content_terms("What does grep -c print?")
    ['grep', 'print', '-c']
    >>> content_terms("What's the lines grep doesn't show?")
    ['line', 'grep', 'show']
    """
    stops = _stopwords()
    out = []
    for w in words(text):
        parts = [w] + (w.replace("’", "'").split("-") if "-" in w else [])
        for p in parts:
            if p in stops or (drop_meta and p in META_WORDS) or len(p) < 2 and not p.isdigit():
                continue
            if _CONTRACTION.fullmatch(p) and p.replace("’", "'").split("'")[0] in stops:
                continue  # "what's", "don't": a stop word with its ending
            out.append(stem(p))
    if "-" in text:
        out += options(text)
    return out


NAME_RUN = re.compile(r"\b[A-Z][\w’'-]*(?:[ ][A-Z][\w’'-]*)*")

_ADJECTIVE_ENDINGS = ("ian", "ean", "ese", "ish", "ern", "ic")


def name_spans(text: str) -> list[re.Match]:
    """Capitalised words and runs of them that are not the first word, nor demonyms like "Russian"."""
    out = []
    for m in NAME_RUN.finditer(text):
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


@dataclass(frozen=True)
class Wording:
    """A text's words, read in one pass (`wording`): what reading a question needs of them."""

    words: tuple[str, ...]  # `words`
    terms: tuple[str, ...]  # `content_terms`
    own: tuple[str, ...]  # `content_terms(drop_meta=True)`: what it asks about, meta words left out
    names: tuple[str, ...]  # the content terms of its `names`
    stems: dict[str, str]  # each of its words' stem
    spans: tuple[tuple[int, int], ...] = ()  # where its `name_spans` lie


def wording(text: str) -> Wording:
    """`words`, `content_terms` (with and without meta words), the terms of its names, and each
    word's stem, in one pass.

    >>> w = wording("What does the article say about Kim Jong-un?")
    >>> w.own, w.names, w.stems["does"]
    (('kim', 'jong-un', 'jong', 'un'), ('kim', 'jong-un', 'jong', 'un'), 'doe')
    """
    ws = words(text)
    spans = [m.span() for m in name_spans(text)]
    return Wording(tuple(ws), tuple(content_terms(text)), tuple(content_terms(text, drop_meta=True)),
                   tuple(t for s, e in spans for t in content_terms(text[s:e])), {w: stem(w) for w in ws},
                   tuple(spans))


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


# --------------------------------------------------------------- entries of reference texts

_PLAIN_WORD = re.compile(r"[^\W\d_]+")
_TAG = re.compile(r"(\S{1,24})( {2,})\S")
_LEADING_TERM = re.compile(r"([^\s:][^:\n]{0,40}?):\s")


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def entry_term(document: str, start: int, end: int) -> tuple[str, bool]:
    """The term a sentence of a reference text (`document[start:end]`) describes, when it is laid out
    as one entry of a definition list, and whether the sentence is that term alone. Three layouts,
    each starting a line: a term on a line of its own (a function's signature, a constant; not one
    or two plain words such as "Note"); a term line whose description goes on below it, indented
    deeper (a man page's options); a short term and a colon ("rules: output the list of all
    rules."). ("", False) for anything else, e.g. running prose.

    >>> doc = "Intro text.\\nhas_header(sample)\\nAnalyze the sample.\\n  -x, --line-regexp\\n      Select whole lines."
    >>> entry_term(doc, 12, 30), entry_term(doc, 31, 50)
    (('has_header(sample)', True), ('', False))
    >>> entry_term(doc, 53, len(doc)), entry_term("rules: output all rules.", 0, 24)
    (('-x, --line-regexp', False), ('rules', False))
    >>> entry_term("Note\\nSee this.", 0, 4), entry_term("It is so.\\nMore.", 0, 9)
    (('', False), ('', False))
    >>> tagged = "   ne    Boolean value that prevents\\n         clearing.\\n   The  default  is\\n   red."
    >>> entry_term(tagged, 3, 59), entry_term(tagged, 63, len(tagged))
    (('ne', False), ('', False))
    """
    text = document[start:end]
    first = _line_start(document, start)
    if document[first:start].strip():
        return "", False  # the sentence begins inside a line: running text
    line = text.split("\n", 1)[0].strip()
    tag = _TAG.match(text)
    if tag and "\n" in text:
        # a short tag, its description beside it, and the description's next line indented to the
        # description's column (a man page's "ne     Boolean value that ..."), not justified prose
        nxt = text.split("\n", 2)[1]
        column = start - first + tag.end(2)
        if nxt.strip() and _indent(nxt) == column:
            return tag.group(1), False
    if not line or line[-1] in ".!?;:,":
        m = _LEADING_TERM.match(text)
        if m and len(m.group(1).split()) <= 4:
            return m.group(1).strip(), False
        return "", False
    if "\n" not in text.strip():
        after = document[end:end + 200].lstrip(" \t")
        if after and not after.startswith("\n"):
            return "", False  # not a line of its own
        words_ = line.split()
        if len(line) > 80 and not line.endswith(")") or len(line) > 200:
            return "", False
        if len(words_) <= 2 and all(_PLAIN_WORD.fullmatch(w) for w in words_):
            return "", False  # "Note", "See also": a label, not a term
        return line, True
    rest = text.split("\n", 1)[1]
    nxt = rest.split("\n", 1)[0]
    if len(line) <= 60 and nxt.strip() and _indent(nxt) > start - first \
            and len(line.split()) <= 6:
        return line, False
    m = _LEADING_TERM.match(text)
    if m and len(m.group(1).split()) <= 4:
        return m.group(1).strip(), False
    return "", False
