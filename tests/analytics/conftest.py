import pytest


@pytest.fixture(autouse=True)
def _lake_in_tmp(settings, tmp_path):
    """Each test gets its own Parquet copy of the events, not the developer's var/events."""
    settings.BANSO_EVENT_LAKE_DIR = tmp_path / "events"
    settings.MEDIA_ROOT = tmp_path / "media"
