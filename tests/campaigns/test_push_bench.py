"""The push half of `banso bench campaigns` starts on a tiny lake and reports its figures (no timing checked)."""

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.django_db(transaction=True)
def test_the_push_benchmark_queues_the_segment_at_a_tiny_scale(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    import _campaigns_push
    import _lake

    monkeypatch.setattr(_lake, "CACHE", tmp_path)

    monkeypatch.setattr(_campaigns_push, "REPETITIONS", 1)
    figures = _campaigns_push.run(0.0001)

    assert figures["end_users"] == 1000 and figures["events"] > 20_000
    assert 0 < figures["queued"] <= figures["segment_members"]
    assert set(figures) >= {"push_seconds", "segment_seconds", "queue_seconds", "segment_queue_seconds"}
