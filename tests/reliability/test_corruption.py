"""A damaged index, an index pointing outside its folder, a full or read-only disk: through the
real `assistant` command in a child process, each gives one `error:` line naming the file and
the fix, exit code 1, never a traceback; and a failed build leaves the old index answering.

The library-level checks of each damaged file are in tests/test_store.py; these go through the
installed command, as a user meets them.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from bench.harness import free_port
from index import CorruptIndex, load_index
from index.store import read_current
from reliability.helpers import make_corpus, one_line_error, run_cli
from tests_helpers import damage_file

FILES = ["manifest.json", "documents.jsonl", "chunks.jsonl", "embeddings.npy", "vectors.faiss"]
QUESTION = "What temperature for green tea?"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, tiny_corpus) -> Path:
    """An index of the tiny corpus built by the real command; tests damage copies of it."""
    base = tmp_path_factory.mktemp("pristine")
    shutil.copytree(tiny_corpus, base / "docs")
    proc = run_cli("index", "build", base / "docs", "--out", base / "index")
    assert proc.returncode == 0, proc.stderr
    return base / "index"


@pytest.fixture
def index_copy(pristine, tmp_path) -> Path:
    folder = tmp_path / "index"
    shutil.copytree(pristine, folder, symlinks=True)
    return folder


@pytest.mark.parametrize("how", ["truncated", "emptied", "garbage", "deleted"])
@pytest.mark.parametrize("name", FILES)
def test_each_damaged_file_is_one_error_line_naming_it_and_the_fix(index_copy, name, how):
    damage_file(index_copy / read_current(index_copy) / name, how)
    proc = run_cli("ask", QUESTION, "--index", index_copy)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert name in line and "assistant index build" in line and "--out" in line
    assert proc.stdout == ""


@pytest.mark.parametrize("how", ["truncated", "emptied", "garbage", "deleted"])
def test_a_damaged_current_pointer_is_one_error_line_with_the_fix(index_copy, how):
    damage_file(index_copy / "CURRENT", how)
    proc = run_cli("ask", QUESTION, "--index", index_copy)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert "assistant index build" in line
    assert "CURRENT" in line or (how == "deleted" and "no index at" in line)


@pytest.mark.parametrize("verb", [["index", "info"], ["retrieve", "tea"], ["ask", "tea", "--json"]])
def test_every_verb_reports_a_damaged_index_the_same_way(index_copy, verb):
    damage_file(index_copy / read_current(index_copy) / "chunks.jsonl", "garbage")
    args = verb[:2] + [str(index_copy)] if verb[:2] == ["index", "info"] else verb + ["--index", str(index_copy)]
    proc = run_cli(*args)
    assert proc.returncode == 1
    assert "chunks.jsonl" in one_line_error(proc)


@pytest.mark.slow
def test_serve_refuses_a_damaged_index_in_one_line(index_copy):
    damage_file(index_copy / read_current(index_copy) / "embeddings.npy", "truncated")
    proc = run_cli("serve", "--index", index_copy, "--port", free_port(), timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and "embeddings.npy" in lines[0] and "assistant index build" in lines[0]


# ---------------------------------------------------------------- paths stay inside the index folder


@pytest.mark.parametrize("pointer", ["../outside", "/tmp", "./", "..", "build/../../x", "CURRENT"])
def test_current_cannot_name_anything_outside_the_index_folder(index_copy, pointer):
    (index_copy.parent / "outside").mkdir()
    (index_copy / "CURRENT").write_text(pointer + "\n")
    with pytest.raises(CorruptIndex, match="CURRENT"):
        load_index(index_copy)


def test_a_build_folder_that_links_outside_is_refused(index_copy, tmp_path):
    """A symlinked build folder would let an index read files anywhere on disk."""
    outside = tmp_path / "elsewhere"
    shutil.copytree(index_copy / read_current(index_copy), outside)
    os.symlink(outside, index_copy / "linked-build")
    (index_copy / "CURRENT").write_text("linked-build\n")
    with pytest.raises(CorruptIndex) as err:
        load_index(index_copy)
    assert "\n" not in str(err.value)
    proc = run_cli("ask", QUESTION, "--index", index_copy)
    assert proc.returncode == 1 and "linked-build" in one_line_error(proc)


@pytest.mark.parametrize("name", FILES)
def test_an_index_file_that_links_outside_is_refused_with_the_fix(index_copy, tmp_path, name):
    build = index_copy / read_current(index_copy)
    target = tmp_path / f"moved-{name}"
    shutil.move(build / name, target)
    os.symlink(target, build / name)
    with pytest.raises(CorruptIndex) as err:
        load_index(index_copy)
    message = str(err.value)
    assert name in message and "outside" in message and "assistant index build" in message


# ---------------------------------------------------------------- full and read-only disks


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True,
                       capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs mounted in tmp_path (needs root and mount rights; the in-process tests below do not)."""
    folder = tmp_path / "disk"
    if not _mount_tmpfs(folder, "3m"):
        pytest.skip("cannot mount a tmpfs here; the in-process disk tests cover the same behaviour")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=20)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"x" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _answers_the_old_way(index: Path, question: str, expected_stdout: str) -> None:
    proc = run_cli("ask", question, "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected_stdout


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
@pytest.mark.parametrize("disk_state", ["full", "read-only"])
def test_a_build_on_a_full_or_read_only_disk_fails_clearly_and_keeps_the_old_index(small_disk, tmp_path, disk_state):
    old_docs, new_docs = tmp_path / "old", tmp_path / "new"
    facts = make_corpus(old_docs, 20, seed=1)
    make_corpus(new_docs, 40, seed=2)
    index = small_disk / "index"
    assert run_cli("index", "build", old_docs, "--out", index).returncode == 0
    before = run_cli("ask", facts[0].question, "--index", index)
    assert before.returncode == 0 and facts[0].food in before.stdout
    build_id = read_current(index)
    if disk_state == "full":
        _fill(small_disk)
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True, capture_output=True, timeout=20)

    proc = run_cli("index", "build", new_docs, "--out", index)
    assert proc.returncode == 1
    line = one_line_error(proc)
    reason = "No space left on device" if disk_state == "full" else "Read-only file system"
    assert reason in line and str(index) in line
    assert "internal error" not in line  # a full disk is the user's to fix, not a bug to report

    assert read_current(index) == build_id
    load_index(index, verify=True)
    _answers_the_old_way(index, facts[0].question, before.stdout)
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]


runner = CliRunner()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT])
@pytest.mark.parametrize("step", ["documents.jsonl", "manifest.json", "CURRENT"])
def test_a_write_error_at_any_step_fails_clearly_and_keeps_the_old_index(tmp_path, monkeypatch, code, step):
    """The same without mounting anything: the index's file writes fail at one step, in process."""
    import index.store as store

    old_docs, new_docs = tmp_path / "old", tmp_path / "new"
    make_corpus(old_docs, 5, seed=1)
    make_corpus(new_docs, 5, seed=2)
    out = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_INDEX__MODEL", "hashing")
    assert runner.invoke(app, ["index", "build", str(old_docs), "--out", str(out)]).exit_code == 0
    before = load_index(out)
    real_write = store._write

    def failing_write(path: Path, data: bytes) -> None:
        if path.name == step or (step == "CURRENT" and path.name.startswith(".CURRENT.")):
            raise OSError(code, os.strerror(code), str(path))
        real_write(path, data)

    monkeypatch.setattr(store, "_write", failing_write)
    result = runner.invoke(app, ["index", "build", str(new_docs), "--out", str(out)])
    monkeypatch.undo()
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and os.strerror(code) in lines[0], result.output
    assert "internal error" not in lines[0]
    after = load_index(out)
    assert after.manifest.build_id == before.manifest.build_id
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".CURRENT."))]
