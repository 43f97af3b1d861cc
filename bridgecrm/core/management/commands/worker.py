from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bridgecrm.core.worker import BridgeWorker


class Command(BaseCommand):
    help = "Run Bridge's background worker: scheduled entries and queued tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One scheduler tick and all ready tasks, then exit.")
        parser.add_argument("--interval", type=float, default=settings.BRIDGE_WORKER_INTERVAL_SECONDS)
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("bridgecrm").setLevel(logging.INFO)
        logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
        worker = BridgeWorker(interval=options["interval"], worker_id=options["worker_id"])
        if options["once"]:
            worker.run_once()
        else:
            worker.run_forever()
