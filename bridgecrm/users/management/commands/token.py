from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bridgecrm.core.errors import ApplicationError
from bridgecrm.users import services
from bridgecrm.users.models import User


class Command(BaseCommand):
    help = "Personal access tokens for scripts and operators: token create USERNAME [--read-only] [--expires DAYS]"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Print a new token for USERNAME")
        create.add_argument("username")
        create.add_argument("--read-only", action="store_true")
        create.add_argument("--expires", type=int, default=None, metavar="DAYS")
        create.add_argument("--name", default="command line")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['username']!r}.")
        try:
            issued = services.token_create(
                actor=user, name=options["name"], read_only=options["read_only"], expires_in_days=options["expires"]
            )
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(issued.secret)
