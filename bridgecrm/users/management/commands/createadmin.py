from __future__ import annotations

import getpass
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bridgecrm.core.errors import ApplicationError
from bridgecrm.users import services
from bridgecrm.users.models import Role


class Command(BaseCommand):
    help = "Create an administrator. The password is entered, or generated and shown once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--full-name", default="")
        parser.add_argument("--generate", action="store_true", help="Generate a password and print it once.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"] or not self.stdin_is_tty():
            password = secrets.token_urlsafe(15)
            shown = True
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
            shown = False
        try:
            user = services.user_create(
                actor=None,
                username=options["username"],
                email=options["email"],
                full_name=options["full_name"],
                role=Role.objects.get(code="admin"),
                password=password,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.details or ''}") from exc
        self.stdout.write(f"Created administrator {user.username}.")
        if shown:
            self.stdout.write(f"Password (shown once, store it now): {password}")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()
