from bridgecrm.core.scheduler import Entry
from bridgecrm.pool import tasks

SCHEDULE = [
    # Every hour; the job derives everything from the data and the time, so after downtime one
    # run (no catch-up of missed slots needed) recycles and warns about all that came due meanwhile.
    Entry(name="pool.recycle", cron="7 * * * *", task=tasks.recycle_pool, catch_up=False),
]
