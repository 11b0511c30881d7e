"""Japanese is the default language: every catalogue is complete and compiled from its current source."""

import shutil
import subprocess
from pathlib import Path

import pytest

import banso

CATALOGUES = sorted(Path(banso.__file__).parent.glob("**/locale/ja/LC_MESSAGES/django.po"))


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.parent.parent.parent.parent.name))
def test_japanese_catalogue_is_complete(po: Path, tmp_path: Path):
    result = subprocess.run(
        ["msgfmt", "--check-format", "--statistics", "-o", str(tmp_path / "out.mo"), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    assert (tmp_path / "out.mo").read_bytes() == po.with_suffix(".mo").read_bytes(), "recompile the .mo"


def test_every_app_with_strings_has_a_catalogue():
    assert {p.parent.parent.parent.parent.name for p in CATALOGUES} >= {"banso", "accounts", "activity"}
