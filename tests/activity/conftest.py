import pytest


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    """Uploaded files and progress files go to a per-test folder, not the developer's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
