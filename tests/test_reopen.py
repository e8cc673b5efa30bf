"""Hot reload through the library: `Assistant.current_build` and `reopen_if_changed`."""

from __future__ import annotations

from tests_helpers import rebuildable_index


def test_reopen_if_changed_opens_a_rebuilt_index_and_nothing_otherwise(tmp_path, hashing_settings):
    first, folder, rebuild = rebuildable_index(tmp_path, hashing_settings)
    assert first.current_build() == first.index.manifest.build_id
    assert first.reopen_if_changed() is None

    rebuild()
    fresh = first.reopen_if_changed()
    assert fresh is not None and fresh.settings is first.settings
    assert fresh.index.manifest.build_id == first.current_build() != first.index.manifest.build_id
    assert {d["doc_id"] for d in fresh.info().documents} == {"one.txt", "two.txt"}
    assert fresh.reopen_if_changed() is None


def test_an_unreadable_current_is_no_change(tmp_path, hashing_settings):
    first, folder, _ = rebuildable_index(tmp_path, hashing_settings)
    (folder / "CURRENT").unlink()  # mid-rebuild or removed: keep what we have
    assert first.current_build() is None and first.reopen_if_changed() is None
