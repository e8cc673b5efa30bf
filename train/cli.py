"""`assistant judge train` and `assistant judge calibrate`: the judge's training and its decision's
calibration, added to the one `assistant` command through the `assistant.commands` entry points
(`register(app)`), so `assistant/` never imports this package. Only stdlib and typer are imported
at module level: torch loads when a run starts, never for `--help`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Literal, Optional

import typer

DataOpt = typer.Option(None, "--data", help="SQuAD 2.0 training files (default: ../shared/data/*.json beside the project).")
Synth = Literal["facts", "squad"]  # train.settings.SYNTH_SHARE's keys (a test checks), without importing it here


def _training_files(data: Optional[List[Path]]) -> list[Path]:
    from assistant.settings import SHARED_DATA  # here: the verb's help must not load settings

    files = list(data or sorted(SHARED_DATA.glob("*.json")))
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        typer.echo(f"error: no SQuAD training data at {missing[0] if missing else SHARED_DATA}; pass --data FILE",
                   err=True)
        raise typer.Exit(2)
    return files


def register(app: typer.Typer) -> None:
    # the `assistant` command's group class: domain errors become one line there, as for every verb
    judge_app = typer.Typer(cls=app.info.cls, no_args_is_help=True,
                            help="Train and calibrate the answer judge (torch; the questions themselves never need it).")
    app.add_typer(judge_app, name="judge")

    @judge_app.command("train")
    def judge_train_cmd(
        out: Path = typer.Option(..., "--out", "-o", help="Folder for judge.safetensors, judge.json (written atomically)."),
        data: Optional[List[Path]] = DataOpt,
        epochs: int = typer.Option(2, min=1, help="Passes over the pairs."),
        layers: int = typer.Option(6, min=1, max=6, help="How many of MiniLM's six layers the judge keeps."),
        seed: int = typer.Option(13, help="The one seed of the run."),
        limit: Optional[int] = typer.Option(None, min=1, help="Questions per article (a smoke run)."),
        eval_dev: bool = typer.Option(True, "--eval-dev/--no-eval-dev",
                                      help="Also train on the eval's dev split, as the shipped judge was (the decision, "
                                           "calibrated on it too, then sees questions the judge was trained on)."),
        synth: Synth = typer.Option("facts", "--synth",
                                  help="Unanswerable questions made from answerable ones: facts (a name or number "
                                       "swapped, as the shipped judge) or squad (also a noun, an antonym, a negation)."),
        train_on: Optional[List[str]] = typer.Option(None, "--train-on", metavar="TITLE",
                                                     help="A calibration article to train on too (repeatable); calibrate "
                                                          "then scores it with a --fold-judge that never saw it."),
    ):
        """Fine-tune the judge from the bundled MiniLM on the SQuAD training articles (held-out ones
        excepted) and the eval's dev split. About 25 minutes on two cores; run it in the background."""
        from assistant.settings import DEFAULT_DOCUMENT

        from .model import train

        eval_set = Path(__file__).resolve().parents[1] / "eval" / "data" / "grounding.jsonl"
        try:
            train(out, _training_files(data), eval_set if eval_dev and eval_set.exists() else None, DEFAULT_DOCUMENT,
                  epochs=epochs, layers=layers, seed=seed, limit=limit, synth=synth, train_on=tuple(train_on or ()),
                  log=lambda m: typer.echo(m, err=True))
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    @judge_app.command("calibrate")
    def judge_calibrate_cmd(
        judge: Optional[Path] = typer.Option(None, "--judge", help="Judge folder (default: the bundled judge)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="decision.json to write (default: beside the judge)."),
        data: Optional[List[Path]] = DataOpt,
        max_false_abstention: float = typer.Option(0.05, min=0, max=1, help="Bound on declined answerable questions."),
        fold_judges: Optional[List[Path]] = typer.Option(
            None, "--fold-judge", metavar="DIR", help="A judge trained without the calibration articles the judge trained "
                                                      "on (--train-on); it scores them for the decision (repeatable)."),
    ):
        """Fit the answer/decline decision on the calibration articles (SQuAD training articles held out
        from the judge, the SQuAD dev article in ../shared/data/validation/), the eval's dev split and
        the decline benchmark's calibration split."""
        import tempfile

        from assistant.settings import SHARED_DATA
        from assistant.judge import BUNDLED
        from assistant.settings import DEFAULT_DOCUMENT

        from .calibrate import calibrate

        project = Path(__file__).resolve().parents[1]
        eval_set = project / "eval" / "data" / "grounding.jsonl"
        decline_set = project / "eval" / "data" / "decline.jsonl"
        target = out or (judge or BUNDLED) / "decision.json"
        files = _training_files(data) + ([] if data else sorted((SHARED_DATA / "validation").glob("*.json")))
        with tempfile.TemporaryDirectory() as work:
            try:
                calibrate(target, files, eval_set if eval_set.exists() else None, DEFAULT_DOCUMENT, judge,
                          Path(work), max_false_abstention, tuple(fold_judges or ()),
                          decline_set if decline_set.exists() else None, log=lambda m: typer.echo(m, err=True))
            except ValueError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
        typer.echo(f"wrote {target}")

    @judge_app.command("ranker")
    def judge_ranker_cmd(
        out: Path = typer.Option(..., "--out", "-o", help="Folder for the ranker's judge.safetensors, judge.json "
                                                          "and model card (written atomically)."),
        data: Optional[List[Path]] = DataOpt,
        validation: Optional[List[Path]] = typer.Option(None, "--validation", help="The SQuAD dev article's file, "
                                                        "reported on (default: ../shared/data/validation/*.json)."),
        questions: Optional[List[Path]] = typer.Option(None, "--set", help="Question files in the genres format to "
                                                       "train on (default: eval/data/genres-train and genres-tuning)."),
        epochs: int = typer.Option(2, min=1, help="Passes over the questions."),
        seed: int = typer.Option(13, help="The one seed of the run."),
        squad_per_article: int = typer.Option(150, min=0, help="Questions sampled from each SQuAD training "
                                              "article (not the held-out ones) to train on too; 0: none."),
    ):
        """Fine-tune the bundled judge into the passage ranker (answer.rerank) on the genre training
        questions and a sample of the SQuAD training articles' questions, with a listwise loss over the
        retriever's candidates; how many sentences it reads and its weight against retrieval support are
        chosen on text it did not train on (SQuAD calibration articles, the other fold of the genre documents). About an hour on two cores."""
        import tempfile

        from assistant.settings import SHARED_DATA

        from .ranker import SETS, train_ranker

        checks = list(validation or sorted((SHARED_DATA / "validation").glob("*.json")))
        with tempfile.TemporaryDirectory() as work:
            try:
                meta = train_ranker(out, _training_files(data), checks, Path(work), list(questions or SETS),
                                    epochs=epochs, seed=seed, squad_per_article=squad_per_article,
                                    log=lambda m: typer.echo(m, err=True))
            except ValueError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
        typer.echo(json.dumps(meta["rank"], indent=1))
        typer.echo(f"wrote {out}")
