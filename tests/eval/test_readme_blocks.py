"""README figures are written into marked blocks by the commands that measure them."""

import pytest

from eval.readme import replace_block


def test_a_block_on_lines_of_its_own_gets_the_lines_between(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- x:start -->\nold\nlines\n<!-- x:end -->\nb\n")
    replace_block(readme, "x", "| t |\n|---|")
    assert readme.read_text() == "a\n<!-- x:start -->\n| t |\n|---|\n<!-- x:end -->\nb\n"


def test_a_block_inside_a_table_cell_stays_on_its_line(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("| claim | <!-- y:start -->old<!-- y:end --> on 2 cores |\n")
    replace_block(readme, "y", "640 requests,\n**0 errors**")
    assert readme.read_text() == "| claim | <!-- y:start -->640 requests, **0 errors**<!-- y:end --> on 2 cores |\n"


def test_only_the_named_block_changes_and_a_missing_one_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- x:start -->1<!-- x:end --> <!-- x2:start -->2<!-- x2:end -->\n")
    replace_block(readme, "x2", "two")
    assert readme.read_text() == "<!-- x:start -->1<!-- x:end --> <!-- x2:start -->two<!-- x2:end -->\n"
    with pytest.raises(ValueError, match="no <!-- z:start -->"):
        replace_block(readme, "z", "nothing")
