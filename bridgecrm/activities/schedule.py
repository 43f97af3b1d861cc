from bridgecrm.activities import tasks
from bridgecrm.core.scheduler import Entry

SCHEDULE = [
    # Every minute; after downtime one run catches up every reminder that came due meanwhile.
    Entry(name="activities.task_reminders", cron="* * * * *", task=tasks.send_task_reminders, catch_up=False),
    # 01:00 UTC is 09:00 in Asia/Shanghai, the company's default time zone.
    Entry(name="activities.follow_ups_due", cron="0 1 * * *", task=tasks.notify_follow_ups_due, catch_up=False),
]
