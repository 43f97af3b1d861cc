from __future__ import annotations

from bridgecrm.config.env import ENV

if ENV.task_backend == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

BRIDGE_WORKER_INTERVAL_SECONDS = 1.0
# How far back the scheduler looks for slots missed while no worker ran.
BRIDGE_SCHEDULER_CATCH_UP_SECONDS = 24 * 60 * 60
