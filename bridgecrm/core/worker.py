"""The Bridge worker: the scheduler's tick, then every ready task, then a short sleep."""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from bridgecrm.core import scheduler

logger = logging.getLogger(__name__)


class BridgeWorker:
    def __init__(self, *, interval: float = 1.0, worker_id: str | None = None, queue_names: list[str] | None = None):
        self.interval = interval
        self.worker_id = worker_id or get_random_string(32)
        self.queue_names = queue_names or ["*"]
        self.running = True

    def _task_worker(self) -> Worker:
        return Worker(
            queue_names=self.queue_names,
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )

    def run_once(self) -> None:
        close_old_connections()
        scheduler.tick()
        self._task_worker().run()
        close_old_connections()

    def stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("worker %s stopping", self.worker_id)
        self.running = False

    def run_forever(self) -> None:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        logger.info("worker %s started", self.worker_id)
        while self.running:
            try:
                self.run_once()
            except Exception:  # a bad tick must not kill the worker; it is logged and retried
                logger.exception("worker tick failed")
            time.sleep(self.interval)
