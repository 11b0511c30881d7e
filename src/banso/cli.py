"""The `banso` console command: Django's management commands under one name."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banso.settings")
    _apply_database_flag(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["banso", *sys.argv[1:]])


def _apply_database_flag(argv: list[str]) -> None:
    """`banso bench web --database URL` must choose the database before settings are read."""
    if len(argv) < 2 or argv[1] != "bench":
        return  # other commands' --database names a connection alias
    for i, arg in enumerate(argv):
        if arg == "--database" and i + 1 < len(argv):
            os.environ["DATABASE_URL"] = argv[i + 1]
        elif arg.startswith("--database="):
            os.environ["DATABASE_URL"] = arg.split("=", 1)[1]


if __name__ == "__main__":
    main()
