from bridgecrm.core.scheduler import Entry
from bridgecrm.targets import tasks

SCHEDULE = [
    # 01:10 UTC is 09:10 in Asia/Shanghai, just after the follow-up routine's reminders.
    Entry(name="targets.milestone_reminders", cron="10 1 * * *", task=tasks.send_milestone_reminders, catch_up=False),
]
