"""Documents added to and removed from a served index (assistant.library), on the hashing embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import AssistantError, DocumentError
from assistant.library import Library, safe_name, with_uploads
from index import load_index

ORCHARD = "Orchard\n\nApples grow on trees in the orchard every autumn.\n"
HARBOUR = "Harbour\n\nThe lighthouse keeper rows to the harbour at dawn.\n"


@pytest.fixture
def served(tmp_path, hashing_settings):
    """An index built from the command line (one document) and its library; uploads arrive in `inbox`."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "orchard.txt").write_text(ORCHARD, encoding="utf-8")
    folder = tmp_path / "index"
    Assistant.from_paths([docs], folder, hashing_settings, progress=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return folder, Library(folder, hashing_settings), inbox


def received(inbox: Path, name: str, data: str | bytes) -> Path:
    path = inbox / f"upload-{len(list(inbox.iterdir()))}"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_an_upload_is_indexed_answered_from_and_survives_a_reopen(served, hashing_settings):
    folder, library, inbox = served
    before = load_index(folder).manifest
    change = library.add([("harbour.txt", received(inbox, "harbour.txt", HARBOUR))])
    assert change.added == ["harbour.txt"] and change.refused == [] and change.build_id != before.build_id

    reopened = Assistant.load(folder, hashing_settings)  # what a restarted server does: fresh, not stale
    assert set(reopened.index.documents) == {"orchard.txt", "harbour.txt"}
    assert reopened.index.manifest.counts["reused"] > 0  # the old document was not embedded again
    answer = reopened.ask("Who rows to the harbour at dawn?")
    assert answer.citations and answer.citations[0].doc_id == "harbour.txt"
    assert (folder / "documents" / "harbour.txt").read_text(encoding="utf-8") == HARBOUR

    listed = {d.doc_id: d for d in library.documents()}
    assert listed["harbour.txt"].removable and listed["harbour.txt"].added_at
    assert listed["harbour.txt"].size == len(HARBOUR) and listed["harbour.txt"].passages >= 1
    assert not listed["orchard.txt"].removable and listed["orchard.txt"].added_at is None


def test_hostile_names_become_plain_file_names_inside_the_documents_folder(served):
    folder, library, inbox = served
    names = ["../../etc/passwd.txt", '<img src=x onerror="alert(1)">.md', "..\\..\\win.html", ".hidden.txt"]
    texts = [f"Topic {i}\n\nThe {word} sentence number {i} is here.\n"
             for i, word in enumerate(["first", "second", "third", "fourth"])]
    texts[2] = "<html><body><h1>Win</h1><p>The third sentence is here.</p></body></html>"
    change = library.add([(n, received(inbox, n, t)) for n, t in zip(names, texts)])
    assert change.refused == []
    assert change.added == ["passwd.txt", "img src_x onerror__alert(1).md", "win.html", "hidden.txt"]
    files = sorted(p.name for p in (folder / "documents").iterdir())
    assert files == sorted(change.added)
    assert not (folder.parent / "etc").exists()


def test_refused_files_get_one_line_and_change_nothing(served, hashing_settings):
    folder, library, inbox = served
    small = Library(folder, hashing_settings.with_(uploads={"max_file_bytes": 200, "max_total_bytes": 300}))
    before = load_index(folder).manifest.build_id
    change = small.add([
        ("big.txt", received(inbox, "big.txt", "Big\n\n" + "Words go on and on. " * 20)),
        ("binary.txt", received(inbox, "binary.txt", b"\x00\x01\x02" * 10)),
        ("slides.pptx", received(inbox, "slides.pptx", "Slides\n\nA slide.\n")),
        ("again.txt", received(inbox, "again.txt", ORCHARD)),
        ("empty.md", received(inbox, "empty.md", "   \n")),
    ])
    reasons = {r.name: r.reason for r in change.refused}
    assert change.added == [] and change.build_id == "" and set(reasons) == {
        "big.txt", "binary.txt", "slides.pptx", "again.txt", "empty.md"}
    assert reasons["big.txt"].startswith("big.txt: 0.") and reasons["big.txt"].endswith("MB limit per file")
    assert "binary" in reasons["binary.txt"] and "unsupported file type" in reasons["slides.pptx"]
    assert "same content as orchard.txt" in reasons["again.txt"] and "empty" in reasons["empty.md"]
    for reason in reasons.values():
        assert "\n" not in reason and str(folder) not in reason and str(inbox) not in reason
    assert load_index(folder).manifest.build_id == before
    assert not (folder / "documents").exists() or not list((folder / "documents").iterdir())
    assert not [p for p in folder.iterdir() if p.name.startswith((".upload-", ".removed-"))]

    fits = small.add([("a.txt", received(inbox, "a.txt", "A\n\n" + "x " * 60)),
                      ("b.txt", received(inbox, "b.txt", "B\n\n" + "y " * 60)),
                      ("c.txt", received(inbox, "c.txt", "C\n\n" + "z " * 60))])
    assert fits.added == ["a.txt", "b.txt"]
    assert [r.name for r in fits.refused] == ["c.txt"] and "limit in total" in fits.refused[0].reason


def test_a_failed_build_leaves_the_old_index_and_no_file(served, monkeypatch):
    folder, library, inbox = served
    before = load_index(folder).manifest.build_id

    def broken(*args, **kwargs):
        raise AssistantError("disk full")

    monkeypatch.setattr("assistant.library.build_index", broken)
    with pytest.raises(AssistantError, match="disk full"):
        library.add([("harbour.txt", received(inbox, "harbour.txt", HARBOUR))])
    assert load_index(folder).manifest.build_id == before
    assert not (folder / "documents" / "harbour.txt").exists()


def test_remove_an_upload_but_not_a_command_line_document_nor_the_last(served, hashing_settings):
    folder, library, inbox = served
    library.add([("harbour.txt", received(inbox, "harbour.txt", HARBOUR))])
    with pytest.raises(DocumentError, match="indexed from the command line"):
        library.remove("orchard.txt")
    with pytest.raises(DocumentError, match="no document 'nope.txt'"):
        library.remove("nope.txt")
    change = library.remove("harbour.txt")
    assert change.removed == ["harbour.txt"]
    assert set(Assistant.load(folder, hashing_settings).index.documents) == {"orchard.txt"}
    assert not (folder / "documents" / "harbour.txt").exists()
    assert with_uploads(load_index(folder).manifest.sources, folder) == load_index(folder).manifest.sources


def test_removing_the_last_document_is_refused(tmp_path, hashing_settings):
    folder = tmp_path / "index"
    seed = tmp_path / "seed.txt"
    seed.write_text(ORCHARD, encoding="utf-8")
    Assistant.from_paths([seed], folder, hashing_settings, progress=False)
    library = Library(folder, hashing_settings)
    library.add([("harbour.txt", received(tmp_path, "harbour.txt", HARBOUR))])
    seed.unlink()
    Assistant.from_paths([folder / "documents"], folder, hashing_settings, progress=False)
    with pytest.raises(DocumentError, match="only document"):
        library.remove("harbour.txt")


@pytest.mark.parametrize("name, taken, expected", [
    ("report.PDF", (), "report.pdf"),
    ("a/b/c.docx", (), "c.docx"),
    ("\x00\x1f.txt", (), "document.txt"),
    ("x" * 300 + ".md", (), "x" * 80 + ".md"),
    ("notes.txt", ("notes.txt", "notes-2.txt"), "notes-3.txt"),
    ("résumé.txt", (), "résumé.txt"),
    ("no suffix", (), "no suffix"),
])
def test_safe_name(name, taken, expected):
    assert safe_name(name, taken) == expected


def test_a_file_whose_content_is_not_its_type_is_refused(served):
    folder, library, inbox = served
    change = library.add([("report.pdf", received(inbox, "report.pdf", "Report\n\nPlain text dressed as a PDF.\n")),
                          ("memo.docx", received(inbox, "memo.docx", b"PK\x03\x04 not really a zip"))])
    assert change.added == [] and [r.name for r in change.refused] == ["report.pdf", "memo.docx"]
    for r in change.refused:
        assert r.reason.startswith(r.name + ": ") and "\n" not in r.reason and str(inbox) not in r.reason


def test_an_uploaded_pdf_is_read_once_for_its_check_and_its_build(served, monkeypatch):
    import uuid

    from tests_helpers import make_pdf

    from index import pdf

    folder, library, inbox = served
    calls = []
    real = pdf.read_pdf
    monkeypatch.setattr(pdf, "read_pdf", lambda *a, **k: calls.append(1) or real(*a, **k))
    report = make_pdf(inbox / "report.pdf", [[("Quarterly report", 0.9, 16, True),
                                              (f"The depot {uuid.uuid4().hex[:8]} held nine spare turbines.", 0.85)]])
    change = library.add([("report.pdf", report)])
    assert change.added == ["report.pdf"] and len(calls) == 1
    index = load_index(folder)
    assert "nine spare turbines" in index.documents["report.pdf"] and index.pages["report.pdf"]
