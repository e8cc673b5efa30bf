"""Experiments on the genres development set (issue 28), kept to be rerun; not part of any gate.

    python -m eval.genres_experiments sweep         # retrieval fusion weights and judge ordering, one run each
    python -m eval.genres_experiments second-source # quoting also the second passage when it scores close

`second-source` estimates, without changing the answer composer, what quoting the best sentence (by cosine
to the question) of the second passage would do when that passage scores at least t x the first: answer-key
recall and mean quoted characters per threshold. Both use the cached indexes `assistant eval --genres` builds.
"""

from __future__ import annotations

import sys

from . import genres as g


def _run(settings) -> dict:
    return g.run_genres(g.DEFAULT_SET, g.load_rows(), settings, progress=False).to_dict()


def sweep() -> None:
    from assistant import Settings

    base = Settings.from_env()
    grid: list[tuple[str, dict]] = [("as shipped", {})]
    grid += [(f"sentence_weight={v}", {"retrieval": {"sentence_weight": v}}) for v in (0.1, 0.4, 0.6)]
    grid += [(f"passage_weight={v}", {"retrieval": {"passage_weight": v}}) for v in (0.0, 0.4)]
    grid += [(f"section_weight={v}", {"retrieval": {"section_weight": v}}) for v in (0.25, 0.8)]
    grid += [("judge_orders", {"answer": {"judge_orders": True}})]
    for name, change in grid:
        settings = base
        for group, values in change.items():
            settings = settings.with_(**{group: values})
        res = _run(settings)
        o = res["overall"]
        docs = " ".join(f"{d}:{f['hit@1']:.2f}/{f['key_recall']:.2f}" for d, f in res["docs"].items())
        print(f"{name:24s} hit@1 {o['hit@1']:.3f} hit@3 {o['hit@3']:.3f} key {o['key_recall']:.3f} "
              f"fa {o['false_abstention']:.3f} chars {o['quoted_chars']:.0f} | {docs}", flush=True)


def second_source(thresholds=(0.99, 0.97, 0.95, 0.9, 0.85, 0.8)) -> None:
    from assistant import Assistant, Settings
    from index import get_embedder

    from .squad import gold_in_quotes

    settings = Settings.from_env()
    res = _run(settings)  # builds (or reuses) the indexes
    rows = g.load_rows()
    data = []  # (key held now, chars now, abstained, p2/p1 score ratio, key held with p2's sentence, chars added)
    for name, d in res["documents"].items():
        a = Assistant.load(d["index"], settings)
        ix = a.index
        embedder = get_embedder(ix.manifest.model.name)
        for r in (r for r in rows if r.doc == name):
            ans = a.ask(r.question)
            quotes = [] if ans.abstained else [c.quote for c in ans.citations]
            now = bool(quotes) and gold_in_quotes([r.answer], quotes)
            chars = sum(map(len, quotes))
            ps = ans.passages
            if ans.abstained or len(ps) < 2 or ps[0].score <= 0:
                data.append((now, chars, ans.abstained, 0.0, now, 0))
                continue
            q = embedder.embed_query(r.question)
            best = max(ix.chunk_sentences[ix.chunk_by_id[ps[1].chunk_id]], key=lambda i: float(ix.embeddings[i] @ q))
            s = ix.sentence_text(best)
            added = not any(s in x or x in s for x in quotes)
            data.append((now, chars, False, ps[1].score / ps[0].score,
                         gold_in_quotes([r.answer], quotes + ([s] if added else [])), len(s) if added else 0))
    answered = [x for x in data if not x[2]]
    print(f"as shipped: answer-key recall {sum(x[0] for x in data) / len(data):.3f}, "
          f"quoted chars {sum(x[1] for x in answered) / len(answered):.0f}")
    for t in thresholds:
        key = sum((x[4] if x[3] >= t else x[0]) for x in data) / len(data)
        chars = sum(x[1] + (x[5] if x[3] >= t else 0) for x in answered) / len(answered)
        used = sum(x[3] >= t for x in answered)
        print(f"t={t}: answer-key recall {key:.3f}, quoted chars {chars:.0f}, second source on {used}/{len(answered)}")


if __name__ == "__main__":
    {"sweep": sweep, "second-source": second_source}[sys.argv[1] if len(sys.argv) > 1 else "sweep"]()
