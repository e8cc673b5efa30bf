"""`assistant eval`: how well answers are grounded, offline, deterministic, no LLM judge.

Runs our assistant and the naive baseline over the eval set (or scores a predictions file),
prints a table per category and overall, optionally writes JSON and a Markdown report with
charts, and exits 1 when a threshold of the gate file is missed. Only stdlib and typer are
imported at module level so the other verbs stay fast.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer


def _usage_error(message: str) -> Exception:
    """The one way the edges report a usage mistake: `UsageError` (one line, exit code 2)."""
    from index.errors import UsageError  # here, not at the top: other verbs must not pay for it

    return UsageError(message)


def _pick_document(documents: dict[str, str], items) -> str:
    """The indexed document holding the most evidence spans (the eval set is about one article)."""
    from .metrics import normalize_ws

    spans = [normalize_ws(e) for it in items for e in it.evidence]
    return max(documents, key=lambda d: sum(s in normalize_ws(documents[d]) for s in spans))


def run_eval(set_file: Optional[Path], split: str, index: Optional[Path], overrides: List[str],
             predictions: Optional[Path], document: Optional[Path], baseline: bool,
             progress: Optional[bool] = None) -> dict:
    """Everything but printing and the gate: returns the results dictionary the report reads."""
    from .baseline import DenseBaseline
    from .runner import (apply_overrides, evaluate, outputs_from_predictions, parse_overrides, run_assistant,
                         run_baseline)
    from .schema import DEFAULT_SET, DataError, load_items, load_predictions

    t_start = time.perf_counter()
    set_file = set_file or DEFAULT_SET
    try:
        items = load_items(set_file, split)
        settings_overrides = parse_overrides(overrides)
        preds = load_predictions(predictions) if predictions else None
    except (DataError, ValueError) as exc:
        raise _usage_error(str(exc)) from None
    if not items:
        raise _usage_error(f"no items in {set_file} for split {split!r}")

    from assistant import Assistant, Settings
    from assistant.settings import DEFAULT_DOCUMENT

    try:
        settings = apply_overrides(Settings.from_env(), settings_overrides)
    except ValueError as exc:
        raise _usage_error(f"bad --override: {str(exc).splitlines()[0]}") from None

    from index import get_embedder

    systems, meta = {}, {}
    if preds is None:
        assistant = Assistant.load(index, settings)
        documents = {d["doc_id"]: assistant.document_text(d["doc_id"]) for d in assistant.info().documents}
        doc_id = _pick_document(documents, items)
        text = documents[doc_id]
        # float32, as the recipe runs the model (ours may embed its questions in int8)
        embedder = get_embedder(assistant.index.manifest.model.name)
        outputs = run_assistant(assistant, items, progress=progress)
        systems["ours"] = evaluate(items, outputs, text, doc_id)
        info = assistant.info()
        meta.update(system="ours (this assistant)", index=info.folder, model=info.model,
                    threshold=assistant.decider.threshold(), settings=settings.model_dump())
    else:
        from index.loading import load_document

        path = document or DEFAULT_DOCUMENT
        try:
            doc = load_document(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable document is one usage error
            raise _usage_error(f"cannot read document {path}: {exc}") from None
        doc_id, text = doc.doc_id, doc.text
        outputs, missing = outputs_from_predictions(items, preds)
        if missing:
            typer.echo(f"warning: {len(missing)} item(s) missing from {predictions}, scored as empty abstentions "
                       f"(first: {', '.join(missing[:5])})", err=True)
        embedder = get_embedder(settings.index.model) if baseline else None
        systems[Path(predictions).stem] = evaluate(items, outputs, text, None)
        meta.update(system=f"predictions from {predictions}")
    if baseline:
        base = DenseBaseline(text, embedder)
        systems["baseline"] = evaluate(items, run_baseline(base, items, doc_id, progress=progress), text, doc_id)
    meta.update(set=str(set_file), split=split, n_items=len(items), overrides=list(overrides), doc_id=doc_id,
                seconds=time.perf_counter() - t_start)
    return {"meta": meta, "systems": systems}


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        set_file: Optional[Path] = typer.Option(None, "--set", help="Eval set, JSON lines (default: the bundled eval/data/grounding.jsonl; with --decline, eval/data/decline.jsonl)."),
        split: Optional[str] = typer.Option(None, "--split", help="dev (for tuning; the default), test (held out; what CI gates on) or all. With --decline: test (the default), calibration or all."),
        json_out: Optional[str] = typer.Option(None, "--json", metavar="OUT", help="Write the results as JSON to OUT ('-' for stdout, instead of the table)."),
        report: Optional[Path] = typer.Option(None, "--report", metavar="DIR", help="Write report.md, charts and results.json to DIR."),
        index: Optional[Path] = typer.Option(None, "--index", "-i", help="Index folder (default: the bundled article's index)."),
        store: Optional[str] = typer.Option(None, "--store", metavar="URI", help="Where the vectors are searched: faiss (the default), milvus-lite:PATH.db or milvus://HOST:PORT/COLLECTION; with --index, where its collection is served now."),
        gate: Optional[Path] = typer.Option(None, "--gate", help="Gate file of minimum/maximum figures (default: eval/gate.json, for a run of the bundled set's test split; --gate applies to any run)."),
        no_gate: bool = typer.Option(False, "--no-gate", help="Report only; never exit 1 for missed thresholds."),
        override: List[str] = typer.Option([], "--override", metavar="GROUP.FIELD=VALUE", help="Change one setting, e.g. answer.min_support=0.5 (repeatable)."),
        predictions: Optional[Path] = typer.Option(None, "--predictions", help="Score another system's outputs (JSON lines: id, answer, abstained, citations, passages; with --decline: id, abstained, optional confidence and citations or quotes) instead of running ours."),
        document: Optional[Path] = typer.Option(None, "--document", help="With --predictions: the document the set is about (default: the bundled article)."),
        no_baseline: bool = typer.Option(False, "--no-baseline", help="Skip the naive dense baseline."),
        readme: Optional[Path] = typer.Option(None, "--readme", metavar="FILE", help="Write this run's figures into FILE's <!-- eval-figures:SPLIT:start/end --> block (a test-split run also redraws its charts in docs/); with --decline, its <!-- decline-figures:start/end --> block."),
        squad: Optional[Path] = typer.Option(None, "--squad", metavar="FILE", help="Score a SQuAD 2.0 JSON file instead of the eval set (one index per article, cached); eval/data/squad-heldout.json is gated on eval/gate.json's squad section."),
        articles: Optional[str] = typer.Option(None, "--articles", metavar="TITLES", help="With --squad: only these articles, comma-separated (underscores optional)."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, metavar="N", help="With --squad: the first N questions of each article (quick runs; never gated)."),
        genres: bool = typer.Option(False, "--genres", help="Run the held-out development sets of other genres instead (--set, default eval/data/genres/questions.jsonl): answerable questions about a Python doc page, a PDF manual and a man page, one cached index each; hit@1/3, answer-key recall, false abstention, quoted characters per document; a run of the default file is gated on eval/gate.json's genres section."),
        decline: bool = typer.Option(False, "--decline", help="Run the decline benchmark instead (--set, default eval/data/decline.jsonl): off-topic, near-topic and answerable questions about several documents, one cached index each; a full run of the default file's test split is gated on eval/gate.json's decline section; --predictions scores another system's abstentions."),
    ) -> None:
        """Measure how well answers are grounded: retrieval, citations, answers, abstention."""
        if genres:
            given = [name for name, value in (("--decline", decline), ("--squad", squad), ("--index", index),
                                              ("--document", document), ("--store", store), ("--articles", articles),
                                              ("--limit", limit), ("--split", split), ("--predictions", predictions),
                                              ("--no-baseline", no_baseline)) if value]
            if given:
                raise _usage_error(f"--genres builds its own indexes and runs no baseline; it does not take {', '.join(given)}")
            _genres_eval(set_file, override, json_out, readme, gate, no_gate, report)
            return
        if decline:
            given = [name for name, value in (("--squad", squad), ("--index", index), ("--document", document),
                                              ("--store", store), ("--articles", articles), ("--limit", limit),
                                              ("--no-baseline", no_baseline)) if value]
            if given:
                raise _usage_error(f"--decline builds its own indexes and runs no baseline; it does not take {', '.join(given)}")
            _decline_eval(set_file, split or "test", predictions, override, json_out, readme, gate, no_gate, report)
            return
        if squad is not None:
            if predictions or index or set_file:
                raise _usage_error("--squad builds its own indexes; it does not take --predictions, --index or --set")
            _squad_eval(squad, articles, limit, override, json_out, readme, gate, no_gate, report)
            return
        if articles or limit:
            raise _usage_error("--articles and --limit go with --squad")
        split = split or "dev"
        from .report import terminal_tables, update_readme, write_report
        from .runner import DEFAULT_GATE, check_gate, load_gate
        from .schema import DEFAULT_SET

        if split not in ("dev", "test", "all"):
            raise _usage_error(f"unknown split {split!r}: use dev, test or all")
        if readme and predictions:
            raise _usage_error("--readme writes our own figures; it does not take --predictions")
        # An explicit --gate applies to any run, predictions too; the checked-in gate's bounds were set on
        # the bundled set's test split, so by default it judges our own system there only (not the dev
        # split one tunes on, nor another set).
        bundled_test = split == "test" and (set_file is None or Path(set_file).resolve() == Path(DEFAULT_SET).resolve())
        gate_file = None if no_gate else (gate or (DEFAULT_GATE if bundled_test and not predictions else None))
        gate_data = None
        if gate_file:
            try:
                gate_data = load_gate(gate_file)
            except (OSError, ValueError) as exc:
                raise _usage_error(f"cannot read gate {gate_file}: {exc}") from None

        if store is not None:
            from assistant.options import parse_store_option

            override = [*override, f"index.store={json.dumps(parse_store_option(store))}"]
        results = run_eval(set_file, split, index, override, predictions, document, not no_baseline)
        if gate_data is not None:
            first = next(iter(results["systems"].values()))
            failures = check_gate(first["overall"], gate_data)
            results["gate"] = {"file": str(gate_file), "passed": not failures, "failures": failures}

        if json_out == "-":
            sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
        else:
            typer.echo(terminal_tables(results))
            typer.echo(f"{results['meta']['n_items']} questions ({split}) in {results['meta']['seconds']:.1f} s")
        _write_json(results, json_out)
        if report:
            path = write_report(results, report)
            typer.echo(f"report: {path}", err=json_out == "-")
        if readme:
            try:
                written = update_readme(results, readme)
            except (OSError, ValueError) as exc:
                raise _usage_error(f"cannot update {readme}: {exc}") from None
            typer.echo(f"updated: {', '.join(map(str, written))}", err=json_out == "-")
        gate_res = results.get("gate")
        if gate_res:
            if gate_res["passed"]:
                typer.echo(f"gate {gate_file}: passed", err=json_out == "-")
            else:
                typer.echo(f"gate {gate_file}: FAILED", err=True)
                for line in gate_res["failures"]:
                    typer.echo(f"  {line}", err=True)
                raise typer.Exit(1)


def _squad_eval(path: Path, articles: Optional[str], limit: Optional[int], overrides: List[str],
                json_out: Optional[str], readme: Optional[Path], gate: Optional[Path], no_gate: bool,
                report: Optional[Path] = None) -> None:
    """`assistant eval --squad FILE`: run eval/squad.py's runner, print its table, write JSON/README, apply the gate."""
    from .runner import DEFAULT_GATE, parse_overrides
    from .squad import (SquadDataError, chart, check_gate, is_heldout, load_squad, readme_block, run_squad,
                        terminal_table, thresholds_table, write_report)

    to_err = json_out == "-"
    wanted = [a.strip() for a in articles.split(",") if a.strip()] if articles else None
    try:
        load_squad(path)  # a bad file is a usage error before any model loads
        settings_overrides = parse_overrides(overrides)
    except (SquadDataError, ValueError) as exc:
        raise _usage_error(str(exc)) from None
    # The held-out file is gated on a full run only; an explicit --gate applies to any file.
    gate_file = None if no_gate else (gate or (DEFAULT_GATE if is_heldout(path) and not (wanted or limit) else None))
    if not no_gate and not gate and is_heldout(path) and (wanted or limit):
        typer.echo("gate: not applied (--articles or --limit make a partial run of the held-out file)", err=True)
    gate_data = _gate_section(gate_file, "squad") if gate_file else None

    from assistant import AssistantError

    settings = _settings(settings_overrides)
    try:
        run = run_squad(path, settings, articles=wanted, limit=limit)
    except SquadDataError as exc:
        raise _usage_error(str(exc)) from None
    except AssistantError as exc:
        typer.echo(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
        raise typer.Exit(1) from None

    results = run.to_dict()
    failures = _apply_gate(results, results["overall"], gate_data, gate_file, check_gate)

    meta, overall = results["meta"], results["overall"]
    if json_out == "-":
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
    else:
        typer.echo(terminal_table(run.figures()))
        typer.echo(f"{overall['n']} questions ({overall['unanswerable']} unanswerable) in {len(run.articles)} article(s) "
                   f"from {path} in {meta['seconds']:.1f} s (indexing {meta['build_seconds']:.1f} s); model {meta['model']}")
    _write_json(results, json_out)
    if meta["unmapped_answers"]:
        first = next(u for a in run.articles for u in a.unmapped)
        typer.echo(f"warning: {meta['unmapped_answers']} gold answer(s) do not map to the indexed text "
                   f"(first: {first['id']} {first['text']!r} at {first['answer_start']})", err=True)
    if overall["errors"]:
        failed = [r for r in run.records if r.error]
        typer.echo(f"warning: {len(failed)} question(s) failed (scored as abstentions); first: {failed[0].id}: "
                   f"{failed[0].error}", err=True)
    if report:
        typer.echo(f"report: {write_report(run, results, Path(report))}", err=to_err)
    if readme:
        _replace_readme_block(readme, "squad-figures", readme_block(run))
        if thresholds_table(run):
            chart(run, readme.parent / "docs" / "squad-abstention.png")
        typer.echo(f"updated: {readme}", err=to_err)
    if gate_data is not None:
        _report_gate(gate_file, "squad", failures, to_err)


# ---------------------------------------------------------------- what the --squad and --decline paths share

def _gate_section(gate_file: Path, name: str) -> dict:
    """The `name` section of a gate file, or a usage error naming what is wrong."""
    try:
        return json.loads(Path(gate_file).read_text(encoding="utf-8"))[name]
    except KeyError:
        raise _usage_error(f"gate {gate_file} has no \"{name}\" section") from None
    except (OSError, ValueError) as exc:
        raise _usage_error(f"cannot read gate {gate_file}: {exc}") from None


def _settings(settings_overrides: dict):
    """The environment's settings with `--override`s merged in; a bad name or value is a usage error."""
    from assistant import Settings

    from .runner import apply_overrides

    try:
        return apply_overrides(Settings.from_env(), settings_overrides)
    except ValueError as exc:
        raise _usage_error(f"bad --override: {str(exc).splitlines()[0]}") from None


def _replace_readme_block(readme: Path, name: str, content: str) -> None:
    """Write a run's block into the README (`eval.readme.replace_block`); a failure is one usage error."""
    from .readme import replace_block

    try:
        replace_block(readme, name, content)
    except (OSError, ValueError) as exc:
        raise _usage_error(f"cannot update {readme}: {exc}") from None


def _require_block(readme: Path, name: str) -> None:
    """A usage error unless `readme` can be read and holds the `name` block (checked before a long run)."""
    try:
        has_block = f"<!-- {name}:start -->" in Path(readme).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _usage_error(f"cannot update {readme}: {exc}") from None
    if not has_block:
        raise _usage_error(f"{readme} has no <!-- {name}:start --> ... <!-- {name}:end --> block")


def _write_json(results: dict, json_out: Optional[str]) -> None:
    """`--json FILE` (the `-` case prints instead of the table and is handled by the caller)."""
    if json_out and json_out != "-":
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


def _apply_gate(results: dict, figures: dict, gate_data: Optional[dict], gate_file: Optional[Path], check) -> list[str]:
    """Check a gate section (None: no gate) on `figures` with `check`, recording the outcome in `results["gate"]`."""
    if gate_data is None:
        return []
    try:
        failures = check(figures, gate_data)
    except ValueError as exc:
        raise _usage_error(f"gate {gate_file}: {exc}") from None
    results["gate"] = {"file": str(gate_file), "passed": not failures, "failures": failures}
    return failures


def _report_gate(gate_file: Path, label: str, failures: list[str], to_err: bool) -> None:
    """Say whether a gate section passed; exit 1 when it did not."""
    if not failures:
        typer.echo(f"gate {gate_file} ({label}): passed", err=to_err)
        return
    typer.echo(f"gate {gate_file} ({label}): FAILED", err=True)
    for line in failures:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(1)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve().samefile(b)
    except OSError:
        return False


def _decline_eval(set_file: Optional[Path], split: str, predictions: Optional[Path], overrides: List[str],
                  json_out: Optional[str], readme: Optional[Path], gate: Optional[Path], no_gate: bool,
                  report: Optional[Path]) -> None:
    """`assistant eval --decline`: run eval/decline.py (or score --predictions), print its tables, write
    JSON/README/report, apply the gate's decline section."""
    from .decline import (DEFAULT_SET, SPLITS, DeclineDataError, check_gate, load_predictions, load_rows,
                          markdown_block, run_decline, score_predictions, terminal_table, write_report)
    from .runner import DEFAULT_GATE, parse_overrides

    to_err = json_out == "-"
    if split not in SPLITS:
        raise _usage_error(f"unknown split {split!r} for --decline: use {', '.join(SPLITS)}")
    if predictions and (readme or overrides):
        raise _usage_error("--predictions scores another system's answers; it does not take --readme or --override")
    path = set_file or DEFAULT_SET
    try:
        rows = load_rows(path, split)
        preds = load_predictions(predictions) if predictions else None
        settings_overrides = parse_overrides(overrides)
    except (DeclineDataError, ValueError) as exc:
        raise _usage_error(str(exc)) from None
    if not rows:
        raise _usage_error(f"no questions in {path} for split {split!r}")
    # Gated by default on a full run of our own system on the default file's test split; an explicit --gate on anything.
    default_run = _same_file(path, DEFAULT_SET) and split == "test" and preds is None
    gate_file = None if no_gate else (gate or (DEFAULT_GATE if default_run else None))
    if not no_gate and not gate and preds is None and _same_file(path, DEFAULT_SET) and split != "test":
        typer.echo(f"gate: not applied (the gate reads the test split; this is {split})", err=True)
    gate_data = _gate_section(gate_file, "decline") if gate_file else None
    if readme:  # before the run, not after it
        _require_block(readme, "decline-figures")

    try:
        if preds is None:
            run = run_decline(path, rows, split, _settings(settings_overrides))
            missing: list[str] = []
        else:
            run, missing = score_predictions(path, rows, preds, str(predictions), split)
    except DeclineDataError as exc:
        raise _usage_error(str(exc)) from None
    results = run.to_dict()
    failures = _apply_gate(results, results["headline"], gate_data, gate_file, check_gate)

    meta = results["meta"]
    if to_err:
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
    else:
        typer.echo(terminal_table(results))
        who = f"model {meta['model']}, judge {meta['judge']}" if meta["model"] else meta["system"]
        typer.echo(f"{meta['n']} questions ({split}) about {len(results['documents'])} document(s) from {path} in "
                   f"{meta['seconds']:.1f} s (indexing {meta['build_seconds']:.1f} s); {who}")
    _write_json(results, json_out)
    if missing:
        typer.echo(f"warning: {len(missing)} question(s) missing from {predictions}, scored as answered "
                   f"(first: {', '.join(missing[:5])})", err=True)
    if meta["evidence_not_found"]:
        typer.echo(f"warning: {len(meta['evidence_not_found'])} answerable question(s) have evidence not found in "
                   f"their document (first: {meta['evidence_not_found'][0]})", err=True)
    failed = [r for r in results["records"] if r["error"] and r["error"] != "missing from predictions"]
    if failed:
        typer.echo(f"warning: {len(failed)} question(s) failed (scored as declined); first: {failed[0]['id']}: "
                   f"{failed[0]['error']}", err=True)
    if report:
        typer.echo(f"report: {write_report(results, Path(report))}", err=to_err)
    if readme:
        _replace_readme_block(readme, "decline-figures", markdown_block(results))
        typer.echo(f"updated: {readme}", err=to_err)
    if gate_data is not None:
        _report_gate(gate_file, "decline", failures, to_err)


def _genres_eval(set_file: Optional[Path], overrides: List[str], json_out: Optional[str], readme: Optional[Path],
                 gate: Optional[Path], no_gate: bool, report: Optional[Path]) -> None:
    """`assistant eval --genres`: run eval/genres.py, print its table, write JSON/README/report, apply the gate."""
    from .genres import (DEFAULT_SET, GenreDataError, check_gate, is_default, load_rows, readme_block, run_genres,
                         terminal_table, write_report)
    from .runner import DEFAULT_GATE, parse_overrides

    to_err = json_out == "-"
    path = set_file or DEFAULT_SET
    try:
        rows = load_rows(path)
        settings_overrides = parse_overrides(overrides)
    except (GenreDataError, ValueError) as exc:
        raise _usage_error(str(exc)) from None
    if not rows:
        raise _usage_error(f"no questions in {path}")
    gate_file = None if no_gate else (gate or (DEFAULT_GATE if is_default(path) else None))
    gate_data = _gate_section(gate_file, "genres") if gate_file else None
    if readme:  # before the run, not after it
        _require_block(readme, "genres-figures")
    try:
        run = run_genres(path, rows, _settings(settings_overrides))
    except GenreDataError as exc:
        raise _usage_error(str(exc)) from None
    results = run.to_dict()
    failures = _apply_gate(results, results["overall"], gate_data, gate_file, check_gate)

    meta = results["meta"]
    if to_err:
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
    else:
        typer.echo(terminal_table(results))
        typer.echo(f"{meta['n']} questions about {len(results['docs'])} document(s) from {path} in {meta['seconds']:.1f} s "
                   f"(indexing {meta['build_seconds']:.1f} s); model {meta['model']}, judge {meta['judge']}")
    _write_json(results, json_out)
    if meta["unlocated"]:
        typer.echo(f"warning: {len(meta['unlocated'])} answer(s) not found in their document, scored as retrieval "
                   f"misses (first: {meta['unlocated'][0]})", err=True)
    failed = [r for r in results["records"] if r["error"]]
    if failed:
        typer.echo(f"warning: {len(failed)} question(s) failed (scored as abstentions); first: {failed[0]['id']}: "
                   f"{failed[0]['error']}", err=True)
    if report:
        typer.echo(f"report: {write_report(results, Path(report))}", err=to_err)
    if readme:
        _replace_readme_block(readme, "genres-figures", readme_block(results))
        typer.echo(f"updated: {readme}", err=to_err)
    if gate_data is not None:
        _report_gate(gate_file, "genres", failures, to_err)
