from bridgecrm.contracts import tasks_quotes
from bridgecrm.core.scheduler import Entry

SCHEDULE = [
    # Shortly after midnight in China (16:05 UTC): quotes valid "until yesterday" are expired.
    Entry(name="contracts.expire_quotes", cron="5 16 * * *", task=tasks_quotes.expire_due_quotes, catch_up=False),
]
