"""The training data: SQuAD 2.0 articles and the eval's dev split as indexed documents, turned
into question-sentence pairs.

The pairs:
- positive: the sentence holding a SQuAD answer (or an eval evidence span);
- negatives from the same article: the sentences nearest the question by the bundled
  embedder (what the retriever would bring) once the answer's sentence is taken out, and
  other sentences of the answer's paragraph;
- unanswerable questions (SQuAD's `is_impossible`, the eval's unanswerable items): the
  plausible answer's sentence and the nearest sentences, all negative;
- synthesised unanswerable questions: a name or number of an answerable question swapped
  for another one of the same article, so the answer's own sentence no longer answers it
  (`synth="facts"`, the shipped judge's); or, with `synth="squad"`, also the other kinds SQuAD
  2.0's writers made (a noun swapped, an antonym, a negation: `perturb`), for more of them. Tried
  once (see the README): the judge's own AUC rose a little, the decision's did not.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.judge import segment

from .settings import NEAREST, SAME_PARAGRAPH, SYNTH_SHARE

# ---------------------------------------------------------------- data


@dataclass
class Article:
    """One SQuAD article as the assistant indexes it: `# Title` then the paragraphs."""

    title: str
    text: str
    section: str
    sentences: list[tuple[int, int]]  # spans in `text`
    paragraph_of: list[int]  # paragraph number of each sentence
    questions: list["Question"] = field(default_factory=list)


@dataclass
class Question:
    text: str
    answers: list[tuple[int, int]]  # spans in the article text; [] when unanswerable
    plausible: list[tuple[int, int]]
    paragraph: int
    kind: str = ""  # the decline benchmark's kind (off-topic, near-topic, answerable) for its rows
    form: str = ""  # ... and its form (why, polar, how, ...)


@dataclass
class Pair:
    question: str
    sentence: str  # segment B as the judge reads it ("Section: sentence")
    label: int
    span: tuple[int, int] | None  # answer's character span inside `sentence`, when positive


def read_squad(path: Path, keep=lambda title: True) -> list[Article]:
    """SQuAD 2.0 articles as indexed documents (`assistant.squad`, the eval's reader too), with
    every answer mapped to the document's offsets."""
    from index.chunking import split_sentences

    from assistant.squad import article_text, load_squad

    out = []
    for art in load_squad(path).data:
        if not keep(art.title):
            continue
        doc = article_text(art)
        sentences, paragraph_of, questions = [], [], []
        for pi, (para, base) in enumerate(zip(art.paragraphs, doc.offsets)):
            for s, e in split_sentences(para.context):
                sentences.append((base + s, base + e))
                paragraph_of.append(pi)
            for qa in para.qas:
                spans = [(base + a.answer_start, base + a.answer_start + len(a.text)) for a in qa.answers]
                plaus = [(base + a.answer_start, base + a.answer_start + len(a.text)) for a in qa.plausible_answers]
                questions.append(Question(qa.question.strip(), [] if qa.is_impossible else spans, plaus, pi))
        out.append(Article(art.title, doc.text, art.name, sentences, paragraph_of, questions))
    return out


def read_eval_dev(path: Path, document: Path) -> Article:
    """The eval set's dev split as one more article (the bundled document), evidence as answers."""
    from index.loading import load_document
    from index.chunking import chunk_document, ChunkerSettings

    doc = load_document(document)
    chunks = chunk_document(doc, ChunkerSettings())
    seen, sentences, paragraph_of, sections = set(), [], [], []
    for ci, c in enumerate(chunks):
        for s in c.sentences:
            if (s.start, s.end) not in seen:
                seen.add((s.start, s.end))
                sentences.append((s.start, s.end))
                paragraph_of.append(ci)
                sections.append(c.section)
    art = Article("eval-dev", doc.text, "", sentences, paragraph_of)
    art.sections = sections  # type: ignore[attr-defined] - this document has sections of its own
    norm = lambda t: " ".join(t.split())  # noqa: E731
    flat = norm(doc.text)
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("split") != "dev" or item.get("history"):
            continue
        spans = []
        for ev in item.get("evidence", []):
            at = doc.text.find(ev)
            if at >= 0:
                spans.append((at, at + len(ev)))
            elif norm(ev) in flat:
                continue  # whitespace differs: no exact span, skip the evidence rather than guess
        if item["answerable"] and not spans:
            continue
        art.questions.append(Question(item["question"], spans if item["answerable"] else [], [], -1))
    return art


def open_article(art: Article, work: Path, settings):
    """The article indexed on its own, as a document the assistant reads (an `Assistant` without a
    judge; the eval's dev article is the bundled document itself), and the shift from `art.text`'s
    offsets to the indexed document's."""
    from assistant.api import Assistant
    from assistant.settings import DEFAULT_DOCUMENT

    safe = re.sub(r"[^\w.-]+", "_", art.title)
    if art.title == "eval-dev":
        doc_path = DEFAULT_DOCUMENT
    else:
        doc_path = work / "docs" / f"{safe}.md"
        doc_path.parent.mkdir(parents=True, exist_ok=True)
        doc_path.write_text(art.text, encoding="utf-8")
    a = Assistant.from_paths([doc_path], work / "indexes" / safe, settings.with_(answer={"judge": "none"}),
                             progress=False)
    text = a.index.documents[next(iter(a.index.documents))]
    return a, 0 if art.title == "eval-dev" else text.find(art.text[:200])


def read_decline(path: Path, articles: list[Article]) -> int:
    """Add the calibration split of the decline benchmark (`eval/data/decline.jsonl`) to the
    articles it is asked of (`bundled` is the eval's dev article, `squad:TITLE` a SQuAD one):
    off-topic and near-topic questions as unanswerable, answerable ones with their evidence as
    answers. Rows about documents not among `articles` are skipped; returns how many were added."""
    by_key = {("bundled" if a.title == "eval-dev" else f"squad:{a.title}"): a for a in articles}
    added = 0
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        art = by_key.get(row["doc"])
        if row["split"] != "calibration" or art is None:
            continue
        spans = []
        for ev in row.get("evidence", []):
            at = art.text.find(ev)
            if at < 0:
                raise ValueError(f"{path} line {n}: evidence not found in {row['doc']}: {ev[:60]!r}")
            spans.append((at, at + len(ev)))
        answerable = row["kind"] == "answerable"
        art.questions.append(Question(row["question"], spans if answerable else [], [], -1, row["kind"], row["form"]))
        added += 1
    return added


def section_of(art: Article, i: int) -> str:
    return getattr(art, "sections", None)[i] if hasattr(art, "sections") else art.section


def containing(art: Article, span: tuple[int, int]) -> int | None:
    """The sentence that holds the whole span, if one does."""
    for i, (s, e) in enumerate(art.sentences):
        if s <= span[0] and span[1] <= e:
            return i
    return None


_NAME = re.compile(r"\b(?:[A-Z][a-z][\w'-]*)(?: [A-Z][a-z][\w'-]*)*\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")


def swap_fact(question: str, sentence: str, pool_names: list[str], pool_numbers: list[str],
              rng: random.Random) -> str | None:
    """The question with one name or number that its answer sentence contains replaced by
    another from the article that the sentence does not contain (None when there is none).

    >>> swap_fact("When did Chopin leave Warsaw?", "Chopin left Warsaw in 1830.", ["Paris"], [],
    ...           random.Random(0))
    'When did Chopin leave Paris?'
    """
    options = []
    for m in list(_NAME.finditer(question)) + list(_NUMBER.finditer(question)):
        if m.start() == 0 or m.group() not in sentence:
            continue  # the question's first word is capitalised anyway
        pool = pool_numbers if m.group()[0].isdigit() else pool_names
        others = [p for p in pool if p not in sentence and p != m.group() and p not in question]
        if others:
            options.append((m, others))
    if not options:
        return None
    m, others = options[rng.randrange(len(options))]
    return question[:m.start()] + rng.choice(others) + question[m.end():]


# Antonyms of words that questions turn on (SQuAD 2.0's "antonym" kind, a fifth of its unanswerable
# questions). Both directions are used; a pair is skipped when the sentence holds both words.
ANTONYMS = dict(p.split("/") for p in (
    "first/last largest/smallest most/least highest/lowest earliest/latest before/after increase/decrease "
    "increased/decreased more/less best/worst longest/shortest oldest/newest older/younger north/south "
    "east/west maximum/minimum major/minor positive/negative inside/outside above/below early/late "
    "won/lost win/lose success/failure true/false allowed/banned larger/smaller higher/lower "
    "greatest/least richest/poorest top/bottom start/end began/ended beginning/end import/export "
    "imported/exported internal/external ancient/modern private/public buy/sell bought/sold "
    "accepted/rejected supported/opposed support/oppose gained/lost entered/left male/female").split())
ANTONYMS.update({b: a for a, b in list(ANTONYMS.items())})
_AUX = re.compile(r"^(?P<head>(?:\w+ ){0,3}?)(?P<aux>did|does|do|was|were|is|are|has|have|had|can|could|would|will)"
                  r" (?P<subject>[A-Z][\w-]*(?: [A-Z][\w-]*)*)(?P<rest> [a-z]\w* .*)$")
_WORD = re.compile(r"\b[a-z]{4,}\b")
_COMMON = frozenset("""what which when where who whom whose that this these those there their they them
    with from into over under about after before during while than then have been were does done
    also only very most much many some such other another more less each every both either neither
    year years time times name named called used known make made first""".split())


def antonym_swap(question: str, sentence: str, rng: random.Random) -> str | None:
    """The question with one word turned into its antonym (None when it has none to turn).

    >>> antonym_swap("Who was the first king of Poland?", "Mieszko was the first king of Poland.",
    ...              random.Random(0))
    'Who was the last king of Poland?'
    """
    low = sentence.lower()
    options = [m for m in re.finditer(r"\b[a-z]+\b", question)
               if m.group() in ANTONYMS and not re.search(rf"\b{ANTONYMS[m.group()]}\b", low)]
    if not options:
        return None
    m = options[rng.randrange(len(options))]
    return question[:m.start()] + ANTONYMS[m.group()] + question[m.end():]


def negate(question: str) -> str | None:
    """The question with a negation put after its subject (None when its shape is not the simple one).

    >>> negate("What did Chopin compose in 1830?")
    'What did Chopin not compose in 1830?'
    >>> negate("Who was the architect of the tower?")
    'Who was not the architect of the tower?'
    """
    if re.search(r"\b(?:not|never|n't|no)\b", question):
        return None
    copula = re.match(r"^(?:Who|What|Which \w+) (?:was|were|is|are) (?:the|a|an) ", question)
    if copula:  # "Who was the ...": negate the copula
        at = copula.end() - len(copula.group().split()[-1]) - 2  # before " the "
        return question[:at] + " not" + question[at:]
    m = _AUX.match(question)
    if not m or m["aux"] in ("was", "were", "is", "are"):
        return None  # "did Chopin leave": after a name, the next word is the verb
    return question[:m.end("subject")] + " not" + question[m.end("subject"):]


def nouns_of(text: str) -> list[str]:
    """Words the text uses as nouns, by a crude sign that needs no tagger: at least twice between
    "the" and "of", a preposition, a verb "to be" or a punctuation mark.

    >>> nouns_of("The river of life. The river, the hills and the hills of Rome. The Gelug, the Gelug.")
    ['hills', 'river']
    """
    found = re.findall(r"\b[Tt]he ([a-z]{4,})(?= of\b| in\b| to\b| was\b| is\b| were\b| are\b| and\b|[,.;])", text)
    counts: dict[str, int] = {}
    for w in found:
        counts[w] = counts.get(w, 0) + 1
    return sorted(w for w, n in counts.items() if n >= 2 and w not in _COMMON)


def swap_noun(question: str, sentence: str, pool: list[str], rng: random.Random) -> str | None:
    """The question with one of its nouns (`nouns_of` the article) that the sentence holds replaced
    by another the sentence does not hold.

    >>> swap_noun("Which river flows through the city?", "The Vistula river flows through the city.",
    ...           ["river", "mountain", "city"], random.Random(0))
    'Which river flows through the mountain?'
    """
    nouns = set(pool)
    low = sentence.lower()
    options = [m for m in _WORD.finditer(question)
               if m.group() in nouns and m.group() not in _COMMON and re.search(rf"\b{m.group()}\b", low)]
    others = [w for w in pool if not re.search(rf"\b{w}\b", low) and w not in question.lower()]
    if not options or not others:
        return None
    m = options[rng.randrange(len(options))]
    return question[:m.start()] + rng.choice(others) + question[m.end():]


def perturb(question: str, sentence: str, names: list[str], numbers: list[str], nouns: list[str],
            rng: random.Random) -> str | None:
    """One unanswerable variant of an answerable question, of a kind drawn at random among those
    that apply (a name or number swap, a noun swap, an antonym, a negation)."""
    makers = [lambda: swap_fact(question, sentence, names, numbers, rng),
              lambda: swap_noun(question, sentence, nouns, rng),
              lambda: antonym_swap(question, sentence, rng),
              lambda: negate(question)]
    rng.shuffle(makers)
    for make in makers:
        made = make()
        if made and made != question:
            return made
    return None


def _norm(text: str) -> str:
    """Lower case, words only: how an answer's text is looked for in another sentence.

    >>> _norm("In 1830, Warsaw.")
    ' in 1830 warsaw '
    """
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def make_pairs(articles: list[Article], vectors, rng: random.Random, synth: str = "facts") -> list[Pair]:
    """Question-sentence pairs of every article (see the module doc for which); `synth`: which
    unanswerable questions are synthesised, `facts` (name and number swaps) or `squad` (every kind)."""
    if synth not in SYNTH_SHARE:
        raise ValueError(f"synth must be one of {', '.join(SYNTH_SHARE)}, not {synth!r}")
    pairs: list[Pair] = []
    for art in articles:
        sent_vecs, question_vecs = vectors[art.title]
        texts = [art.text[s:e] for s, e in art.sentences]
        names = sorted({m.group() for t in texts for m in _NAME.finditer(t)})
        numbers = sorted({m.group() for t in texts for m in _NUMBER.finditer(t)})
        nouns = nouns_of(art.text) if synth == "squad" else []
        sims = question_vecs @ sent_vecs.T
        for qi, q in enumerate(art.questions):
            order = [int(i) for i in np.argsort(-sims[qi], kind="stable")]
            positives: dict[int, tuple[int, int]] = {}
            for span in q.answers:
                i = containing(art, span)
                if i is not None and i not in positives:
                    positives[i] = (span[0] - art.sentences[i][0], span[1] - art.sentences[i][0])
            if q.answers and not positives:
                continue  # the answer crosses a sentence boundary: no clean label
            seg = lambda i: segment(section_of(art, i), texts[i])  # noqa: E731
            for i, (s, e) in positives.items():
                off = len(seg(i)) - len(texts[i])
                pairs.append(Pair(q.text, seg(i), 1, (s + off, e + off)))
            answer_texts = {_norm(art.text[a:b]) for a, b in q.answers} - {""}
            says_it = lambda i: any(t in _norm(texts[i]) for t in answer_texts)  # noqa: E731
            # a sentence that also holds the answer's words is no negative: label noise otherwise
            negatives = [i for i in order if i not in positives and not says_it(i)][:NEAREST]
            for span in q.plausible:
                i = containing(art, span)
                if i is not None and i not in negatives and i not in positives:
                    negatives.insert(0, i)
            if positives:
                para = [i for i, p in enumerate(art.paragraph_of) if p == art.paragraph_of[next(iter(positives))]
                        and i not in positives and i not in negatives and not says_it(i)]
                negatives += rng.sample(para, min(SAME_PARAGRAPH, len(para)))
            for i in negatives:
                pairs.append(Pair(q.text, seg(i), 0, None))
            if positives and rng.random() < SYNTH_SHARE[synth]:
                i = next(iter(positives))
                swapped = (swap_fact(q.text, texts[i], names, numbers, rng) if synth == "facts"
                           else perturb(q.text, texts[i], names, numbers, nouns, rng))
                if swapped:
                    pairs.append(Pair(swapped, seg(i), 0, None))
    return pairs


def embed_articles(articles: list[Article], model_path: str) -> dict:
    """Unit vectors of every sentence ("Section: sentence", as the index embeds them) and question."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    out = {}
    for art in articles:
        texts = [segment(section_of(art, i), art.text[s:e]) for i, (s, e) in enumerate(art.sentences)]
        sv = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        qv = model.encode([q.text for q in art.questions], batch_size=64, normalize_embeddings=True,
                          show_progress_bar=False)
        out[art.title] = (np.asarray(sv, dtype=np.float32), np.asarray(qv, dtype=np.float32))
    return out
