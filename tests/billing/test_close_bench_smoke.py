"""`banso bench billing` starts at a tiny scale on SQLite and prints its JSON line (never timed here)."""

from ..core.test_bench_smoke import _run_bench, _sqlite


def test_bench_billing_smoke(tmp_path):
    figures = _run_bench("billing", tmp_path, 300, *_sqlite(tmp_path))
    assert figures.keys() >= {"merchants", "bookings", "close_seconds", "report_seconds", "peak_rss_mib", "database"}
    assert (figures["merchants"], figures["bookings"], figures["database"]) == (20, 5_000, "sqlite")
    assert figures["month_bookings"] == 200
    assert figures["statements"] > 0 and figures["pdfs"] == figures["statements"] + figures["invoices"]
