from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bridgecrm.customers.demo import create_demo_customers
from bridgecrm.pipeline.demo import create_demo_pipeline
from bridgecrm.users.demo import DemoAccount, create_demo_company, demo_exists
from bridgecrm.users.models import User

SIGN_IN_FILE = "demo-sign-in.txt"


def sign_in_file() -> Path:
    return Path(settings.VAR_DIR) / SIGN_IN_FILE


def write_sign_in(accounts: list[DemoAccount]) -> Path:
    """Keep the demo sign-ins beside the embedded database (mode 0600), so `make run` can show them."""
    path = sign_in_file()
    lines = [f"{a.role:8} {a.username:20} {a.password}   {a.full_name} · {a.team}" for a in accounts]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


class Command(BaseCommand):
    help = "Create the demo company (3 regions, 6 teams, about 30 people, 2,000 customers), reproducible by seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            self.stdout.write("The demo company already exists.")
            return
        accounts = create_demo_company(seed=options["seed"])
        owners = list(User.objects.filter(username__in=[a.username for a in accounts if a.role != "admin"]))
        customers = create_demo_customers(seed=options["seed"], owners=sorted(owners, key=lambda u: u.pk))
        admin = User.objects.filter(username__in=[a.username for a in accounts if a.role == "admin"]).first()
        if admin is not None:
            create_demo_pipeline(admin=admin)
        path = write_sign_in(accounts)
        if options["verbosity"] == 0:
            return
        self.stdout.write(
            f"Created the demo company with {len(accounts)} people and {customers} customers. "
            f"Sign-ins (also in {path}):"
        )
        for account in accounts[:4]:
            self.stdout.write(f"  {account.role:8} {account.username:20} {account.password}")
