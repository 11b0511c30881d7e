"""`banso bench <name> [--scale F] [--database URL]`: run bench/<name>.py and print its JSON line.

The contract is ../shared/BENCHMARKS.md: figures as one JSON object on the last line of stdout,
progress on stderr. `--database` is applied by `banso.cli` before Django starts, so the benchmark's
own process and any servers it starts use that database.
"""

import importlib.util
import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run a benchmark from bench/ and print its figures as one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scale", type=float, default=1.0)
        parser.add_argument("--database", default=None, help="DATABASE_URL to run against")

    def handle(self, *args: Any, name: str, scale: float, database: str | None, **options: Any) -> None:
        path = settings.REPO_DIR / "bench" / f"{name}.py"
        if not path.is_file():
            available = sorted(p.stem for p in path.parent.glob("*.py") if not p.stem.startswith("_"))
            raise CommandError(f"no benchmark {name!r}; available: {', '.join(available)}")
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))
        spec.loader.exec_module(module)
        figures = module.run(scale=scale)
        self.stdout.write(json.dumps(figures, ensure_ascii=False, default=str))
