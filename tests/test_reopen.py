"""Hot reload through the library: `Assistant.current_build` and `reopen_if_changed`."""

from __future__ import annotations

from assistant import Assistant


def test_reopen_if_changed_opens_a_rebuilt_index_and_nothing_otherwise(tmp_path, hashing_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    folder = tmp_path / "index"
    first = Assistant.from_paths([docs], folder, hashing_settings)
    assert first.current_build() == first.index.manifest.build_id
    assert first.reopen_if_changed() is None

    (docs / "two.txt").write_text("Two\n\nPears grow on trees too.\n", encoding="utf-8")
    Assistant.from_paths([docs], folder, hashing_settings)
    fresh = first.reopen_if_changed()
    assert fresh is not None and fresh.settings is first.settings
    assert fresh.index.manifest.build_id == first.current_build() != first.index.manifest.build_id
    assert {d["doc_id"] for d in fresh.info().documents} == {"one.txt", "two.txt"}
    assert fresh.reopen_if_changed() is None


def test_an_unreadable_current_is_no_change(tmp_path, hashing_settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    first = Assistant.from_paths([docs], tmp_path / "index", hashing_settings)
    (tmp_path / "index" / "CURRENT").unlink()  # mid-rebuild or removed: keep what we have
    assert first.current_build() is None and first.reopen_if_changed() is None
