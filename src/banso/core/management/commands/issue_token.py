"""`banso issue_token <username> <name>`: create an API bearer token and print it once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from banso.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Issue an API token for a user; the token is printed once and only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"no user {username!r}") from exc
        _, raw = ApiToken.issue(user, name)
        self.stdout.write(raw)
