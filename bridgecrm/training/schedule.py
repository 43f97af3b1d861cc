from bridgecrm.core.scheduler import Entry
from bridgecrm.training import tasks

SCHEDULE = [
    # 01:10 UTC is 09:10 in Asia/Shanghai: with the other morning reminders, before the working day.
    Entry(name="training.coaching_reminders", cron="10 1 * * *", task=tasks.send_coaching_reminders, catch_up=False),
]
