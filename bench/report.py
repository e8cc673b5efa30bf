"""Figures, targets and tables for `assistant bench`: plain functions over the results dict.

`summary` turns a list of timings into p50/p95 (with `eval.metrics.percentile`); `evaluate_targets` checks the issue's
targets against the measured ratios; `render_table` (terminal) and `render_markdown`
(README) lay out the same rows; `check_results` lists what is missing from a results
dict (the smoke test's contract: structure, never numbers). Standard library only.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

from eval.metrics import percentile

SCHEMA = 1
PARTS = ("latency", "runtimes", "cold", "build", "scale", "memory", "store")  # what a run can measure, in this order
DEFAULT_PARTS = PARTS[:-1]  # `store` (FAISS beside Milvus Lite) runs when asked for
LATER_PARTS = ("runtimes", "store")  # parts a results file from before they existed may lack


def summary(values: list[float]) -> dict[str, float]:
    """`{"n", "p50", "p95", "min", "max"}` of a list of timings; None for each figure of an empty list.

    >>> summary([3.0, 1.0, 2.0])
    {'n': 3, 'p50': 2.0, 'p95': 2.9, 'min': 1.0, 'max': 3.0}
    """
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "min": min(values) if values else None, "max": max(values) if values else None}


def ratio(ours: float | None, peer: float | None) -> float | None:
    """`ours / peer`, or None when either is missing or the peer is zero.

    >>> ratio(1.0, 4.0), ratio(1.0, None), ratio(1.0, 0.0)
    (0.25, None, None)
    """
    if ours is None or peer is None or peer == 0 or math.isnan(ours) or math.isnan(peer):
        return None
    return ours / peer


def machine_info() -> dict[str, Any]:
    """CPU model, logical cores, RAM, OS and Python version of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram_gb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": ram_gb,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


# ---------------------------------------------------------------- targets


def _get(d: dict, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def evaluate_targets(results: dict) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value, its limit and whether it is met (None: not measured)."""
    parts = results.get("parts", {})
    out = []

    def target(tid: str, text: str, value: float | None, limit: float, higher_is_better: bool = False) -> None:
        met = None if value is None else (value >= limit if higher_is_better else value <= limit)
        out.append({"id": tid, "target": text, "value": value, "limit": limit, "met": met})

    target("latency", "our ask p50 (answer included) <= 0.5 x the peer's similarity_search p50",
           _get(parts, "latency", "ratio_ask_p50_to_peer_search_p50"), 0.5)
    target("cold-ratio", "our cold answer <= 0.25 x the peer's cold search (medians)",
           _get(parts, "cold", "ratio"), 0.25)
    target("cold-seconds", "our cold answer under 2 s (median)", _get(parts, "cold", "ours", "median_s"), 2.0)
    target("build", "our build >= 1.5 x the peer's characters per second",
           _get(parts, "build", "ratio_chars_per_s"), 1.5, higher_is_better=True)
    rec = _get(parts, "scale", "recommended")
    largest = max(_get(parts, "scale", "sizes", default=[]) or [0])
    value = None if rec is None else rec["p50_ms"]
    measured_at_1m = _get(parts, "scale", "status") == "ok" and largest >= 1_000_000
    out.append({"id": "scale", "target": "at 1,000,000 vectors: p50 < 20 ms with recall@10 >= 0.95"
                + ("" if measured_at_1m else f" (largest measured: {largest:,})"),
                "value": value, "limit": 20.0, "met": (rec is not None) if measured_at_1m else None})
    return out


# ---------------------------------------------------------------- rendering


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}" if abs(x) >= 0.1 or x == 0 else f"{x:.3f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def summary_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """`(measure, ours, peer, ours/peer)` rows for the main table."""
    p = results.get("parts", {})
    rows: list[tuple[str, str, str, str]] = []
    lat = p.get("latency", {})
    if lat.get("status") == "ok":
        o, pe = lat["ours"], lat.get("peer") or {}
        rows.append((f"warm retrieve p50 / p95, ms ({o['retrieve_ms']['n']} q)",
                     f"{_fmt(o['retrieve_ms']['p50'], 2)} / {_fmt(o['retrieve_ms']['p95'], 2)}",
                     _peer_pair(pe.get("search_ms")), _ratio(lat.get("ratio_retrieve_p50_to_peer_search_p50"))))
        rows.append(("warm ask p50 / p95, ms (answer included)",
                     f"{_fmt(o['ask_ms']['p50'], 2)} / {_fmt(o['ask_ms']['p95'], 2)}",
                     _peer_pair(pe.get("search_ms")), _ratio(lat.get("ratio_ask_p50_to_peer_search_p50"))))
        rows.append(("query embedding p50, ms", _fmt(o["embed_query_ms"]["p50"], 2),
                     _fmt(_get(pe, "embed_query_ms", "p50"), 2),
                     _ratio(ratio(o["embed_query_ms"]["p50"], _get(pe, "embed_query_ms", "p50")))))
    rt = p.get("runtimes", {})
    if rt.get("status") == "ok":
        j, e = rt["judge_ms"], rt["embed_query_ms"]
        rows.append((f"judge's pass, {rt['sentences_per_question']} sentences, p50 ms: int8 / float32",
                     f"{_fmt(j['int8']['p50'], 2)} / {_fmt(j['float32']['p50'], 2)}", "-",
                     f"int8 {_ratio(ratio(j['int8']['p50'], j['float32']['p50']))} of float32"))
        rows.append(("judge's probability, int8 against float32: largest move (p95)",
                     f"{_fmt(rt['probability_moved']['max'], 3)} ({_fmt(rt['probability_moved']['p95'], 3)})", "-", "-"))
        rows.append(("query embedding p50 ms: int8 / float32 (cosine of the two vectors, min)",
                     f"{_fmt(e['int8']['p50'], 2)} / {_fmt(e['float32']['p50'], 2)} "
                     f"({_fmt(rt['cosine_int8_to_float32']['min'], 3)})", "-",
                     f"int8 {_ratio(ratio(e['int8']['p50'], e['float32']['p50']))} of float32"))
        by = rt.get("judge_ms_per_sentence_by_batch", {})
        if by:
            rows.append(("judge int8, ms per sentence (p50) by batch size " + "/".join(by),
                         " / ".join(_fmt(v["p50"], 2) for v in by.values()), "-", "-"))
    cold = p.get("cold", {})
    if cold.get("status") == "ok":
        rows.append((f"cold answer from the CLI, median of {cold['ours']['runs']}, s", _fmt(cold["ours"]["median_s"], 2),
                     _fmt(_get(cold, "peer", "median_s"), 2), _ratio(cold.get("ratio"))))
    build = p.get("build", {})
    if build.get("status") == "ok":
        o, pe = build["ours"], build.get("peer") or {}
        how = " (int8 embedding)" if o.get("embed_runtime") == "int8" else ""
        rows.append((f"build, {o['documents']} files, {o['chars']:,} chars{how}: seconds", _fmt(o["build_s"]),
                     _fmt(pe.get("build_s")), _ratio(ratio(o["build_s"], pe.get("build_s")))))
        rows.append(("build characters per second", _fmt(o["chars_per_s"]), _fmt(pe.get("chars_per_s")),
                     _ratio(build.get("ratio_chars_per_s"))))
        rows.append(("build chunks per second (ours: passages; sentences embedded)",
                     f"{_fmt(o['chunks_per_s'])} ({_fmt(o['sentences_per_s'])} sent.)",
                     _fmt(pe.get("chunks_per_s")), "-"))
        up = build.get("upload")
        if up:
            rows.append((f"upload to first answer, {up['pages']}-page PDF ({up['chars']:,} chars), s" if "error" not in up
                         else "upload to first answer, s", "error" if "error" in up else
                         f"{_fmt(up['total_s'])} (answered: {'yes' if up['answered'] else 'no'})", "-", "-"))
        if o.get("peak_rss_mb") is not None:
            rows.append(("build peak RSS (model loaded), MB", _fmt(o["peak_rss_mb"]), _fmt(pe.get("peak_rss_mb")),
                         _ratio(ratio(o["peak_rss_mb"], pe.get("peak_rss_mb")))))
    mem = p.get("memory", {})
    if mem.get("status") == "ok":
        for label, m in mem.get("serve", {}).items():
            rows.append((f"serve peak RSS, {label}, MB", _fmt(m.get("peak_mb")) if "error" not in m else "error",
                         "-", "-"))
    return rows


def _peer_pair(s: dict | None) -> str:
    return "-" if not s else f"{_fmt(s['p50'], 2)} / {_fmt(s['p95'], 2)}"


def scale_rows(results: dict, compact: bool = False) -> list[tuple[str, ...]]:
    """Rows of the scale table; `compact` keeps, per vector set and index type, the exact search
    and the fastest setting reaching recall@10 0.95 (the best recall when none does)."""
    all_rows = _get(results, "parts", "scale", "rows", default=[]) or []
    if compact:
        groups: dict[tuple, list[dict]] = {}
        for r in all_rows:
            groups.setdefault((r["data"], r["n"], r["factory"]), []).append(r)
        all_rows = []
        for group in groups.values():
            good = [r for r in group if r["recall_at_10"] >= 0.95]
            all_rows.append(min(good, key=lambda r: r["p50_ms"]) if good else max(group, key=lambda r: r["recall_at_10"]))
    rows = []
    for r in all_rows:
        rows.append((r["data"] if r["data"] == "synthetic" else "real", f"{r['n']:,}", r["factory"], r["search"] or "-",
                     _fmt(r["p50_ms"], 2), _fmt(r["p95_ms"], 2), f"{r['recall_at_10']:.3f}",
                     _fmt(r["bytes_per_vector"], 0), _fmt(r["build_s"], 1)))
    return rows


SCALE_HEADER = ("vectors", "n", "--faiss", "search", "p50 ms", "p95 ms", "recall@10", "bytes/vector", "build s")
STORE_HEADER = ("n", "store", "--faiss", "--faiss-params", "build s", "p50 ms", "p95 ms", "recall@10")


def store_rows(results: dict) -> list[tuple[str, ...]]:
    """Rows of the store table (FAISS beside Milvus Lite); [] when the part did not run."""
    if _get(results, "parts", "store", "status") != "ok":
        return []
    return [(f"{r['n']:,}", r["store"], r["index"], r["search"], _fmt(r["build_s"], 1), _fmt(r["p50_ms"], 2),
             _fmt(r["p95_ms"], 2), f"{r['recall_at_10']:.3f}") for r in _get(results, "parts", "store", "rows", default=[])]


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths))] + [line(r) for r in rows])


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    esc = lambda x: str(x).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def _met(t: dict) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[t["met"]]


def _machine_line(results: dict) -> str:
    m = results.get("machine", {})
    return (f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gb')} GB RAM, {m.get('os')}, "
            f"Python {m.get('python')}; {results.get('date')}" + (" (quick mode: tiny sizes)" if results.get("quick") else ""))


def _runs_line(results: dict) -> str:
    """Which run each part's figures come from: one line when they all come from one run (the
    usual case), else the parts of each run (`merge_runs`) with that run's machine and date."""
    runs: dict[tuple, list[str]] = {}
    for part in PARTS:
        info = results.get("parts", {}).get(part, {})
        if info.get("status") == "ok":
            run = info.get("run") or {"date": results.get("date"), "machine": results.get("machine", {})}
            key = (run["date"], tuple(sorted(run["machine"].items())))
            runs.setdefault(key, []).append(part)
    if len(runs) <= 1:
        return f"Latest run: {_machine_line(results)}."
    lines = []
    for (date, machine), parts in sorted(runs.items(), reverse=True):
        lines.append(f"{', '.join(parts)}: {_machine_line({'date': date, 'machine': dict(machine)})}.")
    return "Latest runs, by part (each ratio is ours / peer within one run):\n\n" + "\n".join(f"- {x}" for x in lines)


def render_table(results: dict) -> str:
    """The terminal report: main table, targets, scale table, part status."""
    head = ("measure", "ours", "peer (LangChain)", "ours/peer")
    out = [f"assistant bench: {_machine_line(results)}", "", _text_table(head, summary_rows(results)), ""]
    out.append(_text_table(("target", "value", "status"),
                           [(t["target"], _fmt(t["value"], 2), _met(t)) for t in results.get("targets", [])]))
    if scale_rows(results):
        out += ["", _text_table(SCALE_HEADER, scale_rows(results))]
        rec = _get(results, "parts", "scale", "recommended")
        out.append(f"recommended for big corpora: --faiss {rec['factory']} with {rec['search']}" if rec else
                   "recommended for big corpora: none met the target")
    if store_rows(results):
        out += ["", _text_table(STORE_HEADER, store_rows(results))]
    out.append("")
    for part in PARTS:
        info = results.get("parts", {}).get(part, {})
        extra = info.get("error") or info.get("reason") or ""
        out.append(f"{part:8s} {info.get('status', '-'):8s} {_fmt(info.get('seconds'))} s  {extra}".rstrip())
    return "\n".join(out)


def render_markdown(results: dict) -> str:
    """The same report as Markdown, for the README's Performance section."""
    head = ("measure", "ours", "peer (LangChain)", "ours/peer")
    out = ["# assistant bench", "", f"Machine: {_machine_line(results)}", "", _md_table(head, summary_rows(results)), "",
           "## Targets", "", _md_table(("target", "value", "status"),
                                        [(t["target"], _fmt(t["value"], 2), _met(t)) for t in results.get("targets", [])])]
    if scale_rows(results):
        out += ["", "## Scale (FAISS)", "", _md_table(SCALE_HEADER, scale_rows(results))]
        rec = _get(results, "parts", "scale", "recommended")
        out += ["", f"Recommended for big corpora: `--faiss {rec['factory']}` with search parameter "
                    f"`{rec['search']}`." if rec else "No setting met the scale target."]
    if store_rows(results):
        out += ["", "## Vector stores (FAISS, Milvus Lite)", "", _md_table(STORE_HEADER, store_rows(results))]
    notes = results.get("notes", [])
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    out += ["", "## Parts", "", _md_table(("part", "status", "seconds", "detail"),
                                           [(p, results["parts"].get(p, {}).get("status", "-"),
                                             _fmt(results["parts"].get(p, {}).get("seconds")),
                                             results["parts"].get(p, {}).get("error")
                                             or results["parts"].get(p, {}).get("reason") or "")
                                            for p in PARTS])]
    return "\n".join(out) + "\n"


def readme_figures(results: dict) -> str:
    """The README's Performance figures: machine, main table, targets, and the index recommended for
    big corpora (the scale table itself is `scale_figures`). Written by `assistant bench --readme README.md`."""
    head = ("measure", "ours", "peer (LangChain)", "ours/peer")
    out = [_runs_line(results), "", _md_table(head, summary_rows(results)), "",
           _md_table(("target", "value", "status"),
                     [(t["target"], _fmt(t["value"], 2), f"**{_met(t)}**") for t in results.get("targets", [])])]
    if scale_rows(results):
        rec = _get(results, "parts", "scale", "recommended")
        out += ["", f"Recommended for big corpora: `--faiss {rec['factory']} --faiss-params {rec['search']}`."
                if rec else "No setting met the scale target."]
    failed = [p for p in DEFAULT_PARTS if results.get("parts", {}).get(p, {}).get("status") != "ok"]
    if failed:
        out += ["", "Not measured: " + ", ".join(failed) + "."]
    return "\n".join(out)


def scale_figures(results: dict) -> str:
    """The FAISS scale table: per vector set and index type, the fastest setting reaching the target."""
    return "\n".join(["Scale: seeded, clustered synthetic vectors and the real sentence vectors of the docs; per index "
                      "type the fastest search setting reaching recall@10 0.95 (the best recall when none does); "
                      "`assistant bench --parts scale` prints every setting.", "",
                      _md_table(SCALE_HEADER, scale_rows(results, compact=True))])


def store_figures(results: dict) -> str:
    """The README's vector-store figures: machine and the store table."""
    run = _get(results, "parts", "store", "run") or results  # a merged run's store part keeps its own date
    return "\n".join([f"Latest run: {_machine_line(run)}.", "", _md_table(STORE_HEADER, store_rows(results))])


def _run_date(part: dict) -> datetime.datetime:
    """When a part's figures were measured (its `run` stamp; the earliest time when it has none)."""
    try:
        when = datetime.datetime.fromisoformat(part["run"]["date"])
    except (KeyError, TypeError, ValueError):
        when = datetime.datetime.min
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def merge_runs(previous: dict | None, results: dict) -> dict:
    """The figures a README shows after `results`: the parts this run measured (status ok) replace
    those of `previous` (the runs the README showed until now) unless those are newer (an old run
    given with `--from`); the others keep theirs. Every part carries the run it came from (`run`: its
    date and machine), so a partial run (`--parts latency`) or a part that failed this time leaves
    the other figures, and says how old they are."""
    import copy

    def stamped(run: dict) -> dict:
        out = copy.deepcopy(run)
        for info in out.get("parts", {}).values():
            if info.get("status") == "ok":
                info.setdefault("run", {"date": run.get("date"), "machine": run.get("machine", {})})
        return out

    merged = stamped(results)
    if previous is not None:
        for part, info in stamped(previous).get("parts", {}).items():
            mine = merged["parts"].get(part, {})
            if info.get("status") == "ok" and (mine.get("status") != "ok" or _run_date(info) > _run_date(mine)):
                merged["parts"][part] = info
        merged["targets"] = evaluate_targets(merged)
    return merged


def readme_runs(readme) -> Path:
    """Where the runs behind a README's bench figures are kept: `docs/bench.json` beside it."""
    return Path(readme).parent / "docs" / "bench.json"


def _holding(name: str, readme) -> Path | None:
    """The file that holds block `name`: the README, or the performance page beside it (docs/performance.md)."""
    for path in (Path(readme), Path(readme).parent / "docs" / "performance.md"):
        if path.is_file() and f"<!-- {name}:start -->" in path.read_text(encoding="utf-8"):
            return path
    return None


def update_readme(results: dict, readme) -> dict:
    """Merge this run into the runs the README shows (`merge_runs`, kept in `readme_runs(readme)`),
    then replace the README's `<!-- bench-figures:start/end -->` block with the merged figures (when
    the parts it shows have any), `<!-- store-figures:start/end -->` with the store part's and
    `<!-- scale-figures:start/end -->` with the scale table, each in the README or in
    docs/performance.md beside it, wherever the block is (the scale block may be in neither).
    Returns the merged results. Both files are written atomically; a missing block changes neither."""
    from eval.readme import replace_block

    kept = readme_runs(readme)
    previous = None
    if kept.is_file():
        try:
            previous = json.loads(kept.read_text(encoding="utf-8"))
        except ValueError:
            raise ValueError(f"{kept} is not JSON: delete it, and the next full run writes it again") from None
        if check_results(previous):
            raise ValueError(f"{kept} is not a bench run's results: delete it, and the next full run writes it again")
    merged = merge_runs(previous, results)
    shows = any(_get(merged, "parts", p, "status") == "ok" for p in DEFAULT_PARTS)
    blocks = {"bench-figures": (shows, True), "store-figures": (bool(store_rows(merged)), True),
              "scale-figures": (bool(scale_rows(merged)), False)}  # name: (has figures, required)
    where = {name: _holding(name, readme) for name in blocks}
    for name, (wanted, required) in blocks.items():
        if wanted and required and where[name] is None:
            raise ValueError(f"{readme} has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    writers = {"bench-figures": readme_figures, "store-figures": store_figures, "scale-figures": scale_figures}
    for name, (wanted, _) in blocks.items():
        if wanted and where[name] is not None:
            replace_block(where[name], name, writers[name](merged))
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_name(f".{kept.name}.tmp")
    tmp.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, kept)
    return merged


# ---------------------------------------------------------------- structure check


def check_results(results: dict) -> list[str]:
    """What is missing or malformed in a results dict ([] when it is well formed). Numbers are not judged."""
    problems = []
    for key in ("schema", "date", "quick", "machine", "settings", "parts", "targets", "notes"):
        if key not in results:
            problems.append(f"missing key {key!r}")
    for key in ("cpu", "cores", "ram_gb"):
        if key not in results.get("machine", {}):
            problems.append(f"machine lacks {key!r}")
    for part in PARTS:
        info = results.get("parts", {}).get(part)
        if info is None and part in LATER_PARTS:  # runs from before the part existed
            continue
        if not isinstance(info, dict) or info.get("status") not in ("ok", "error", "skipped"):
            problems.append(f"part {part!r} has no status")
            continue
        if info["status"] == "error" and not info.get("error"):
            problems.append(f"part {part!r} failed without saying why")
    p = results.get("parts", {})
    if _get(p, "latency", "status") == "ok":
        for key in ("retrieve_ms", "ask_ms", "embed_query_ms"):
            if not {"n", "p50", "p95"} <= set(_get(p, "latency", "ours", key, default={})):
                problems.append(f"latency.ours.{key} lacks n/p50/p95")
    if _get(p, "runtimes", "status") == "ok":
        for key in ("judge_ms", "embed_query_ms"):
            if not all({"n", "p50", "p95"} <= set(_get(p, "runtimes", key, rt, default={})) for rt in ("int8", "float32")):
                problems.append(f"runtimes.{key} lacks int8/float32 n/p50/p95")
    if _get(p, "cold", "status") == "ok" and not isinstance(_get(p, "cold", "ours", "median_s"), (int, float)):
        problems.append("cold.ours.median_s missing")
    if _get(p, "build", "status") == "ok":
        for key in ("chars_per_s", "chunks_per_s", "build_s", "chars"):
            if key not in _get(p, "build", "ours", default={}):
                problems.append(f"build.ours.{key} missing")
    if _get(p, "scale", "status") == "ok":
        rows = _get(p, "scale", "rows", default=[])
        if not rows:
            problems.append("scale has no rows")
        for r in rows:
            if not {"n", "factory", "search", "p50_ms", "recall_at_10", "bytes_per_vector", "build_s"} <= set(r):
                problems.append("scale row lacks fields")
                break
    if _get(p, "store", "status") == "ok":
        rows = _get(p, "store", "rows", default=[])
        if not rows or not all({"n", "store", "index", "search", "build_s", "p50_ms", "p95_ms", "recall_at_10"} <= set(r)
                               for r in rows):
            problems.append("store has no rows or a row lacks fields")
    if _get(p, "memory", "status") == "ok" and not _get(p, "memory", "serve"):
        problems.append("memory has no serve measurements")
    for t in results.get("targets", []):
        if not {"id", "target", "value", "limit", "met"} <= set(t):
            problems.append("target lacks fields")
    return problems
