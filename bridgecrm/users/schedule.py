from bridgecrm.core.scheduler import Entry
from bridgecrm.users import tasks

SCHEDULE = [
    Entry(name="users.deactivate_due", cron="*/5 * * * *", task=tasks.deactivate_due_users, catch_up=False),
    Entry(name="users.prune_throttles", cron="17 * * * *", task=tasks.prune_sign_in_throttles, catch_up=False),
]
