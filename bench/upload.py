"""Upload to first answer: what a person waits for between dropping a report on the page and reading
the answer to a question about its last page (the build part of `assistant bench`).

`report_pages` writes a report's text from a seed (the same pages on every run and machine:
numbered chapters of plain sentences about depots, councils and budgets, every one distinct), with
one fact only on the last page (`FACT`, asked as `QUESTION`); `make_report_pdf` draws it into a real
PDF with a text layer (matplotlib, as tests/tests_helpers.make_pdf and eval/data/decline/make_pdf.py
draw theirs). `upload_to_answer` serves a copy of an index (`assistant serve`, uploads on), uploads
the PDF through the page's own upload handler (gradio_client), then asks `QUESTION` at `/ask`:
the clock runs from the upload's start to the answer. Standard library only at module level.
"""

from __future__ import annotations

import random
import shutil
import textwrap
import time
from pathlib import Path

FACT = "At the end of the year the Northbridge depot held exactly 7,342 spare turbines."
QUESTION = "How many spare turbines did the Northbridge depot hold?"
ANSWER = "7,342"

_WHO = ["The northern plant", "The river authority", "The regional council", "The survey team", "The eastern depot",
        "The harbour office", "The water board", "The rail workshop", "The city archive", "The grain cooperative",
        "The power station", "The forestry service", "The bridge crew", "The school district", "The port authority"]
_DID = ["reported", "recorded", "approved", "inspected", "delivered", "measured", "ordered", "repaired", "counted",
        "audited", "shipped", "stored"]
_WHAT = ["{n} tonnes of grain", "{n} new pumps", "a budget of {n} euros", "{n} kilometres of cable", "{n} wooden crates",
         "{n} litres of diesel", "{n} replacement valves", "{n} hours of overtime", "{n} steel beams", "{n} visitors",
         "{n} sacks of cement", "{n} spare tyres"]
_WHEN = ["in January", "in February", "during the spring", "in week {w}", "before the audit", "after the flood",
         "over the summer", "in the third quarter", "by the end of March", "on the {w}th of May"]
_PLACES = ["Ashford", "Belmont", "Carrow", "Dunmore", "Elgin", "Fairholm", "Glenrock", "Harlow", "Inverleigh", "Kestrel"]
WIDTH = 95  # characters a line
LINES = 56  # body lines a page at most


def report_pages(pages: int = 100, sentences: int = 44, seed: int = 0) -> list[tuple[str, list[str]]]:
    """`(chapter title, body lines)` per page; `FACT` is on the last page only.

    >>> a, b = report_pages(3, seed=1), report_pages(3, seed=1)
    >>> a == b, len(a), FACT in " ".join(a[-1][1]), FACT in " ".join(a[0][1])
    (True, 3, True, False)
    """
    rng = random.Random(seed)
    out = []
    for p in range(1, pages + 1):
        said = []
        for _ in range(sentences):
            what = rng.choice(_WHAT).format(n=f"{rng.randint(12, 9800):,}")
            when = rng.choice(_WHEN).format(w=rng.randint(2, 28))
            said.append(f"{rng.choice(_WHO)} of {rng.choice(_PLACES)} {rng.choice(_DID)} {what} {when}.")
        if p == pages:
            said.insert(len(said) // 2, FACT)
        lines = textwrap.wrap(" ".join(said), WIDTH)[:LINES]
        out.append((f"Chapter {p}: operations in {_PLACES[p % len(_PLACES)]}", lines))
    return out


def make_report_pdf(path: Path, pages: int = 100, seed: int = 0) -> tuple[Path, int]:
    """The report as an A4 PDF with a text layer; returns the path and its body characters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    text = report_pages(pages, seed=seed)
    if FACT not in " ".join(text[-1][1]):
        raise ValueError("the last page lost its fact: fewer sentences a page")
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False}):
        with PdfPages(path, metadata={"Title": "Operations report"}) as pdf:
            for n, (title, lines) in enumerate(text, 1):
                fig = plt.figure(figsize=(8.27, 11.69))
                fig.text(0.07, 0.955, title, fontsize=12, fontweight="bold")
                for i, line in enumerate(lines):
                    fig.text(0.07, 0.92 - i * 0.0148, line, fontsize=8.6)
                fig.text(0.5, 0.03, str(n), fontsize=8)
                pdf.savefig(fig)
                plt.close(fig)
    return path, sum(len(" ".join(lines)) for _, lines in text)


def upload_to_answer(index: Path, work: Path, env: dict[str, str], pages: int = 100, log=print) -> dict:
    """Serve a copy of `index`, upload the report PDF through the page, ask `QUESTION`; seconds and the answer."""
    from .harness import AskClient, serve

    work.mkdir(parents=True, exist_ok=True)
    pdf, chars = make_report_pdf(work / "operations-report.pdf", pages)
    served = work / "upload-index"
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(index, served)
    with serve(served, env=env, ready_timeout=240) as server:
        from gradio_client import Client, handle_file

        client = Client(server.url, verbose=False, download_files=False, analytics_enabled=False)
        asker = AskClient(server.url)
        log(f"upload: {pages}-page PDF ({chars:,} characters) through the page, then {QUESTION!r}")
        t0 = time.perf_counter()
        status = client.submit([handle_file(str(pdf))], [], api_name="/on_upload").result(timeout=900)
        t1 = time.perf_counter()
        answer = asker.ask(QUESTION, timeout=120)
        t2 = time.perf_counter()
    text = answer.get("text", "") if isinstance(answer, dict) else str(answer)
    refused = "ga-refused" in str(status[0] if isinstance(status, (list, tuple)) else status)
    return {"pages": pages, "chars": chars, "pdf_bytes": pdf.stat().st_size, "question": QUESTION,
            "upload_s": t1 - t0, "answer_s": t2 - t1, "total_s": t2 - t0, "refused": refused,
            "answered": ANSWER in text, "answer": text[:300]}
