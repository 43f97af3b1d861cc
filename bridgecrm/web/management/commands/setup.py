from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from bridgecrm.core.i18n import compile_catalogues
from bridgecrm.users.models import User


class Command(BaseCommand):
    help = "Prepare an installation: compile translations, migrate, collect static files, demo data on first start."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="Create the demo company when there are no users.")
        parser.add_argument("--demo-scale", type=float, default=1.0, help="Size of the demo data (1 = full).")
        parser.add_argument("--no-static", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        compiled = compile_catalogues()
        if compiled:
            self.stdout.write(f"Compiled {compiled} translation catalogue(s).")
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_static"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        if options["demo"] and not User.objects.exists():
            call_command("demo", verbosity=0, scale=options["demo_scale"])
            self.stdout.write("Created the demo company.")
