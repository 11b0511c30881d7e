"""Background backtest: the worker runs a queued BacktestRun (every offer's history, every past period)."""

from django_tasks import task

from .models import BacktestRun


@task()
def backtest_task(run_id: int) -> str:
    """Run one queued backtest; its progress and figures are recorded on the run."""
    from .forecasts import run_backtest

    run, claimed = BacktestRun.claim(run_id)
    if not claimed:
        return run.status
    return run_backtest(run).status
