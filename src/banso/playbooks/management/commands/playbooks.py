"""`banso playbooks <group> <action>`: playbooks from the command line.

banso playbooks outbox work [--once] [--batch N] [--idle-sleep S] [--lease S]
                                            deliver queued email and webhooks until stopped (SIGTERM/Ctrl-C
                                            finish the message in hand); --once stops when nothing is due
banso playbooks outbox status               messages per status
banso playbooks tasks [--user U] [--overdue] [--all]
                                            open tasks (owned or delegated) of everyone or of one user
banso playbooks evaluate [--as-of DATE]     evaluate every active playbook's trigger now and print what started
banso playbooks advance                     carry out every playbook step that is due now and print the counts

Each group is a subparser added by an `_add_<group>` method and dispatched to `_<group>_<action>`; a new group
is one more `_add_...` call in `add_arguments` and its handler methods.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from argparse import _SubParsersAction
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Playbooks: the outbox worker and status."

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, metavar="group")
        self._add_outbox(groups)
        self._add_tasks(groups)
        self._add_evaluate(groups)
        self._add_advance(groups)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get(f"{options['group']}_action")
        handler = getattr(self, f"_{options['group']}_{action}", None)
        if handler is None:
            raise CommandError(f"unknown action {action!r}")
        handler(**options)

    def _echo(self, line: str) -> None:
        self.stderr.write(f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ} {line}")
        self.stderr.flush()

    # outbox ------------------------------------------------------------------------------------------------

    def _add_outbox(self, groups: _SubParsersAction[CommandParser]) -> None:
        outbox = groups.add_parser("outbox", help="deliver and inspect outgoing email and webhooks")
        actions = outbox.add_subparsers(dest="outbox_action", required=True, metavar="action")
        work = actions.add_parser("work", help="deliver due messages until stopped")
        work.add_argument("--once", action="store_true", help="stop when nothing is due")
        work.add_argument("--batch", type=int, default=100, help="messages claimed at a time (default 100)")
        work.add_argument("--idle-sleep", type=float, default=2.0, help="seconds to wait when nothing is due")
        work.add_argument(
            "--lease",
            type=float,
            default=300.0,
            help="seconds a claim holds before another worker treats the batch as in doubt (default 300)",
        )
        actions.add_parser("status", help="messages per status")

    def _outbox_work(self, *, once: bool, batch: int, idle_sleep: float, lease: float, **_: Any) -> None:
        from banso.playbooks import outbox

        if batch < 1 or lease <= 0:
            raise CommandError("--batch and --lease must be positive")
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            self._echo(f"signal {signum}: stopping after the message in hand")

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        courier = outbox.Courier()
        self._echo(f"outbox worker started (batch {batch}, lease {lease:g} s)")
        try:
            while not stopping:
                result = outbox.deliver_due(
                    batch=batch, lease=dt.timedelta(seconds=lease), courier=courier, stop=lambda: stopping
                )
                if result.claimed or result.in_doubt:
                    self._echo(str(result))
                    for error in result.errors[:10]:
                        self._echo(f"  {error}")
                if result.claimed:
                    continue
                if once:
                    break
                courier.close()  # idle: servers drop idle sessions; the next message opens a new one
                deadline = time.monotonic() + idle_sleep
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(0.2, idle_sleep))
        finally:
            courier.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._echo("outbox worker stopped")

    def _outbox_status(self, **_: Any) -> None:
        from banso.playbooks import outbox

        found = outbox.counts()
        width = max(len(s) for s in found)
        for status, count in found.items():
            self.stdout.write(f"{status:<{width}}  {count:>8,}")

    # tasks -------------------------------------------------------------------------------------------------

    def _add_tasks(self, groups: _SubParsersAction[CommandParser]) -> None:
        tasks = groups.add_parser("tasks", help="list tasks")
        tasks.set_defaults(tasks_action="list")
        tasks.add_argument("--user", help="username: the tasks they own or were delegated")
        tasks.add_argument("--overdue", action="store_true", help="only open tasks past their due date")
        tasks.add_argument("--all", dest="all_statuses", action="store_true", help="every status, not only open tasks")

    def _tasks_list(self, *, user: str | None, overdue: bool, all_statuses: bool, **_: Any) -> None:
        from banso.core.models import User
        from banso.playbooks import worklist
        from banso.playbooks.models import OPEN_TASK_STATUSES, Task

        person = None
        if user:
            person = User.objects.filter(username=user).first()
            if person is None:
                raise CommandError(f"no user {user!r}")
        base = worklist.mine(person) if person else Task.objects.all()
        rows = worklist.filter_tasks(base, status="all" if all_statuses else "", due="overdue" if overdue else "")
        day = worklist.today()
        count = 0
        for task in rows.select_related("owner", "delegated_to", "account").iterator(chunk_size=2000):
            late = "!" if task.due_on and task.due_on < day and task.status in OPEN_TASK_STATUSES else " "
            who = f"{task.owner.username}" + (f">{task.delegated_to.username}" if task.delegated_to else "")
            account = task.account.name if task.account else "-"
            due = task.due_on.isoformat() if task.due_on else "-"
            self.stdout.write(f"{task.pk:>7} {late}{due:<10} {task.status:<11} {who:<24} {account:<24} {task.title}")
            count += 1
        self.stderr.write(f"{count} task(s)")

    # evaluate ----------------------------------------------------------------------------------------------

    def _add_evaluate(self, groups: _SubParsersAction[CommandParser]) -> None:
        evaluate = groups.add_parser("evaluate", help="evaluate the playbooks' triggers now")
        evaluate.set_defaults(evaluate_action="now")
        evaluate.add_argument("--as-of", type=dt.date.fromisoformat, help="evaluate as of this day (YYYY-MM-DD)")

    def _evaluate_now(self, *, as_of: dt.date | None, **_: Any) -> None:
        from banso.playbooks import triggers

        run = triggers.evaluate_now(as_of)
        for line in run.results:
            problem = f"  ({line['error']})" if line.get("error") else ""
            self.stdout.write(
                f"{line['name']} [{line['trigger']}]: fired {line['fired']:,}, matched {line['matched']:,}, "
                f"started {line['started']:,}{problem}"
            )
        self.stdout.write(
            f"evaluation {run.pk} as of {run.as_of}: {run.runs_started:,} runs started "
            f"over {run.accounts_checked:,} accounts"
        )

    # advance -----------------------------------------------------------------------------------------------

    def _add_advance(self, groups: _SubParsersAction[CommandParser]) -> None:
        advance = groups.add_parser("advance", help="carry out the playbook steps due now")
        advance.set_defaults(advance_action="now")

    def _advance_now(self, **_: Any) -> None:
        from banso.playbooks import runs

        counts = runs.advance_due()
        self.stdout.write(
            f"steps done {counts['done']:,}, skipped {counts['skipped']:,}, failed {counts['failed']:,}; "
            f"runs completed {counts['completed']:,}"
        )
