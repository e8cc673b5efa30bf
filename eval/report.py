"""Turns eval results into a terminal table, a Markdown report and two PNG charts.

Input is the results dictionary built by `eval.cli` (per system: `overall`, `categories`,
`curve`, `items`). Charts use matplotlib's Agg backend, imported only when a report is
written. No figures are computed here beyond picking which ones to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (key, short header for the terminal, label for the Markdown report)
OVERALL_ROWS = [
    ("hit@1", "hit@1", "Retrieval hit@1"), ("hit@3", "hit@3", "Retrieval hit@3"),
    ("hit@5", "hit@5", "Retrieval hit@5"), ("hit@10", "hit@10", "Retrieval hit@10"),
    ("recall@1", "rec@1", "Evidence recall@1"), ("recall@3", "rec@3", "Evidence recall@3"),
    ("recall@5", "rec@5", "Evidence recall@5"), ("recall@10", "rec@10", "Evidence recall@10"),
    ("mrr@10", "MRR", "MRR@10"), ("ndcg@10", "nDCG", "nDCG@10"),
    ("chars@1", "ch@1", "Characters read @1"), ("chars@3", "ch@3", "Characters read @3"),
    ("chars@5", "ch@5", "Characters read @5"), ("chars@10", "ch@10", "Characters read @10"),
    ("quote_validity", "valid", "Quote validity"), ("citation_precision", "citP", "Citation precision"),
    ("citation_recall", "citR", "Citation recall"), ("uncited_rate", "uncit", "Uncited answer sentences (share)"),
    ("key_recall", "keys", "Answer-key recall"), ("token_f1", "F1", "Token F1 (quotes vs evidence)"),
    ("abstain_precision", "absP", "Abstention precision (NoAns)"), ("abstain_recall", "absR", "Abstention recall (NoAns)"),
    ("abstain_f1", "absF1", "Abstention F1"), ("false_abstention", "falseAbs", "False-abstention rate (HasAns)"),
    ("abstained", "abst", "Share of questions abstained on"), ("outcome", "score", "Outcome (keys if answerable, abstained if not)"),
    ("retrieve_p50_ms", "ret50", "retrieve p50 (ms)"), ("retrieve_p95_ms", "ret95", "retrieve p95 (ms)"),
    ("ask_p50_ms", "ask50", "ask p50 (ms)"), ("ask_p95_ms", "ask95", "ask p95 (ms)"),
]
LABELS = {k: label for k, _, label in OVERALL_ROWS}
SHORT = {k: short for k, short, _ in OVERALL_ROWS}
CATEGORY_COLUMNS = ["hit@1", "hit@5", "mrr@10", "citation_precision", "citation_recall", "key_recall", "token_f1",
                    "abstained", "outcome"]
TERMINAL_COLUMNS = ["hit@1", "hit@5", "mrr@10", "citation_precision", "citation_recall", "key_recall", "token_f1",
                    "abstained", "outcome"]


def fmt(value: Any, key: str = "") -> str:
    """`fmt(0.8123) -> "0.81"`, `fmt(None) -> "–"`, milliseconds and characters without decimals."""
    if value is None:
        return "–"
    if key.endswith("_ms"):
        return f"{value:.1f}" if value < 10 else f"{value:.0f}"
    if key.startswith("chars@"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]]


def terminal_tables(results: dict[str, Any]) -> str:
    """Per system: one row per category plus overall, compact columns; then abstention and latency lines."""
    out = []
    for name, sysres in results["systems"].items():
        header = ["category", "n", *[SHORT[c] for c in TERMINAL_COLUMNS]]
        rows = [[cat, str(v["n"]), *[fmt(v[c], c) for c in TERMINAL_COLUMNS]] for cat, v in sysres["categories"].items()]
        o = sysres["overall"]
        rows.append(["overall", str(o["n"]), *[fmt(o[c], c) for c in TERMINAL_COLUMNS]])
        out.append(f"{name}:")
        out += ["  " + line for line in _table(header, rows)]
        out.append(f"  abstention: precision {fmt(o['abstain_precision'])}  recall {fmt(o['abstain_recall'])}  "
                   f"F1 {fmt(o['abstain_f1'])}  false-abstention {fmt(o['false_abstention'])}   "
                   f"quote validity {fmt(o['quote_validity'])}  uncited {fmt(o['uncited_rate'])}")
        if o.get("ask_p50_ms") is not None:
            out.append(f"  latency ms: retrieve p50 {fmt(o['retrieve_p50_ms'], '_ms')} p95 {fmt(o['retrieve_p95_ms'], '_ms')}"
                       f"   ask p50 {fmt(o['ask_p50_ms'], '_ms')} p95 {fmt(o['ask_p95_ms'], '_ms')}")
        if o["errors"]:
            out.append(f"  {o['errors']} item(s) failed or were missing (scored as empty abstentions):")
            failed = [r for r in sysres["items"] if r["error"]]
            out += [f"    {r['id']}: {r['error']}" for r in failed[:5]]
            if len(failed) > 5:
                out.append(f"    ... and {len(failed) - 5} more")
        out.append("")
    return "\n".join(out)


def markdown(results: dict[str, Any], charts: dict[str, str]) -> str:
    systems = results["systems"]
    names = list(systems)
    meta = results["meta"]
    lines = [f"# Grounding eval — {meta['split']} split", "",
             f"{meta['n_items']} questions from `{meta['set']}`; system: {meta['system']}; "
             f"declines below confidence {meta.get('threshold', '–')} (the decision's threshold, or "
             f"`answer.min_support` without a judge); "
             f"overrides: {', '.join(meta['overrides']) or 'none'}. Run took {meta['seconds']:.1f} s.", "",
             "Baseline: dense top-k over fixed 500-character chunks (100 overlap) with the same embedder, "
             "answering with the top chunk and never abstaining.", "",
             "## Overall", "", "| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, _, label in OVERALL_ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt(systems[n]["overall"].get(key), key) for n in names) + " |")
    gate = results.get("gate")
    if gate:
        lines += ["", "## Gate", "", f"`{gate['file']}`: " + ("**passed**" if gate["passed"] else "**failed**")]
        lines += [f"- {f}" for f in gate["failures"]]
    for n in names:
        lines += ["", f"## Per category — {n}", "",
                  "| category | n | " + " | ".join(LABELS[c] for c in CATEGORY_COLUMNS) + " |",
                  "|---|---:|" + "---:|" * len(CATEGORY_COLUMNS)]
        for cat, v in systems[n]["categories"].items():
            lines.append(f"| {cat} | {v['n']} | " + " | ".join(fmt(v[c], c) for c in CATEGORY_COLUMNS) + " |")
    for title, file in charts.items():
        lines += ["", f"## {title}", "", f"![{title}]({file})"]
    first = names[0]
    misses = [r for r in systems[first]["items"] if r["metrics"]["outcome"] is not None and r["metrics"]["outcome"] < 0.5]
    if misses:
        lines += ["", f"## Misses — {first}", "",
                  "Answerable questions abstained on or matching under half their answer keys, and unanswerable "
                  "questions answered:", "", "| id | category | question | abstained |", "|---|---|---|---|"]
        for r in misses:
            q = r["question"].replace("|", "\\|")
            lines.append(f"| {r['id']} | {r['category']} | {q} | {'yes' if r['abstained'] else 'no'} |")
    return "\n".join(lines) + "\n"


def charts(results: dict[str, Any], folder: Path) -> dict[str, str]:
    """Writes `categories.png` and, when confidences exist, `abstention.png`; returns {title: file name}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = results["systems"]
    names = list(systems)
    written = {}
    cats = list(next(iter(systems.values()))["categories"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(names)
    for ax, key, title in ((axes[0], "hit@1", "Retrieval hit@1 (answerable questions)"),
                           (axes[1], "outcome", "Outcome: key recall if answerable, abstained if not")):
        for i, n in enumerate(names):
            vals = [systems[n]["categories"][c][key] or 0.0 for c in cats]
            ax.bar([x + i * width for x in range(len(cats))], vals, width, label=n, color=f"C{i}")
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(cats))])
        ax.set_xticklabels(cats, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "categories.png", dpi=110)
    plt.close(fig)
    written["Per category"] = "categories.png"

    curves = {n: s["curve"] for n, s in systems.items() if s["curve"]}
    if curves:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
        for n, curve in curves.items():
            color = f"C{names.index(n)}"
            # A system that never abstains still gets a curve: what thresholding its confidence would give.
            label = n if systems[n]["overall"]["abstained"] else f"{n} (if thresholded on its score)"
            pts = [p for p in curve if p["precision"] is not None]
            ax1.plot([p["recall"] for p in pts], [p["precision"] for p in pts], marker=".", markersize=3,
                     color=color, label=label)
            ax2.plot([p["threshold"] for p in curve[:-1]], [p["recall"] for p in curve[:-1]], color=color,
                     label=f"{n}: recall on unanswerable")
            ax2.plot([p["threshold"] for p in curve[:-1]], [p["false_abstention"] for p in curve[:-1]], linestyle="--",
                     color=color, label=f"{n}: false abstention on answerable")
        ours = systems[names[0]]["overall"]
        if ours["abstain_precision"] is not None:
            ax1.scatter([ours["abstain_recall"]], [ours["abstain_precision"]], color="red", zorder=5,
                        label=f"{names[0]} at its threshold")
        threshold = results["meta"].get("threshold")
        if threshold is not None:
            ax2.axvline(threshold, color="red", linewidth=1, label=f"{names[0]}: its decline threshold")
        ax1.set_xlabel("recall on unanswerable questions")
        ax1.set_ylabel("precision of abstentions")
        ax1.set_xlim(0, 1.02)
        ax1.set_ylim(0, 1.02)
        ax1.set_title("Abstention precision / recall over the threshold", fontsize=10)
        ax1.legend(fontsize=8)
        ax2.set_xlabel("threshold on confidence (abstain below)")
        ax2.set_title("Trade-off by threshold", fontsize=10)
        ax2.set_ylim(0, 1.02)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "abstention.png", dpi=110)
        plt.close(fig)
        written["Abstention threshold"] = "abstention.png"
    return written


def write_report(results: dict[str, Any], folder: Path) -> Path:
    """`report.md`, the charts and `results.json` in `folder`; returns the report's path."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    written = charts(results, folder)
    path = folder / "report.md"
    path.write_text(markdown(results, written), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- README figures

README_ROWS = [
    ("retrieval hit@1 / hit@3 / hit@5", ("hit@1", "hit@3", "hit@5"), ""),
    ("MRR@10 / nDCG@10", ("mrr@10", "ndcg@10"), ""),
    ("characters read at 1", ("chars@1",), ""),
    ("quote validity", ("quote_validity",), ""),
    ("citation precision / recall", ("citation_precision", "citation_recall"), ""),
    ("answer-key recall / token F1", ("key_recall", "token_f1"), ""),
    ("abstention precision / recall / F1", ("abstain_precision", "abstain_recall", "abstain_f1"), ""),
    ("false-abstention rate", ("false_abstention",), ""),
    ("ask p50 / p95", ("ask_p50_ms", "ask_p95_ms"), " ms"),
]


def readme_figures(results: dict[str, Any]) -> str:
    """The README's figures for one run: a table of ours beside the baseline for the test split,
    one sentence for any other split. Written by `assistant eval --readme README.md`, so the
    README's figures are always a run's, never typed."""
    systems = results["systems"]
    meta = results["meta"]
    ours = next(iter(systems.values()))["overall"]
    base = systems.get("baseline", {}).get("overall")

    def cell(o: dict[str, Any] | None, keys: tuple[str, ...], unit: str) -> str:
        if o is None:
            return "–"
        if unit:  # latencies, only where measured
            if o.get(keys[0]) is None:
                return "–"
            return " / ".join(fmt(o[k], k) for k in keys) + unit
        return " / ".join(fmt(o.get(k), k) for k in keys)

    head = f"{meta['split']} split, {meta['n_items']} questions, {meta['seconds']:.0f} s"
    if meta["split"] != "test":
        line = (f"On the {head}: hit@1 {fmt(ours['hit@1'])}, hit@3 {fmt(ours['hit@3'])}, first passage "
                f"{fmt(ours['chars@1'], 'chars@1')} characters, MRR@10 {fmt(ours['mrr@10'])}, answer-key recall "
                f"{fmt(ours['key_recall'])}, abstention recall {fmt(ours['abstain_recall'])} with a false-abstention "
                f"rate of {fmt(ours['false_abstention'])}")
        if base is not None:
            line += f" (baseline: hit@1 {fmt(base['hit@1'])}, answer-key recall {fmt(base['key_recall'])})"
        return line + "."
    lines = [f"Latest run ({head}):", "", "| metric | ours | baseline |", "|---|---:|---:|"]
    for label, keys, unit in README_ROWS:
        lines.append(f"| {label} | {cell(ours, keys, unit)} | {cell(base, keys, unit)} |")
    return "\n".join(lines)


def update_readme(results: dict[str, Any], readme: Path) -> list[Path]:
    """Replace the block between `<!-- eval-figures:SPLIT:start -->` and `...:end -->` in `readme`
    with this run's figures; a test-split run also redraws the README's two charts. Returns the
    files written; raises ValueError when the README has no such block."""
    from .readme import replace_block

    split = results["meta"]["split"]
    replace_block(readme, f"eval-figures:{split}", readme_figures(results))
    written = [readme]
    if split == "test":
        docs = readme.parent / "docs"
        docs.mkdir(exist_ok=True)
        for name in charts(results, docs).values():
            target = docs / f"eval-{name}"
            (docs / name).replace(target)
            written.append(target)
    return written
