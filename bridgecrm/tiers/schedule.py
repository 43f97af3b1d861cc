from bridgecrm.core.scheduler import Entry
from bridgecrm.tiers import tasks

SCHEDULE = [
    # 18:00 UTC is 02:00 in Asia/Shanghai: the nightly recomputation, before the working day.
    Entry(name="tiers.recompute", cron="0 18 * * *", task=tasks.recompute_tiers, catch_up=False),
    # 01:05 UTC is 09:05 in Asia/Shanghai, just after the follow-ups-due notices.
    Entry(name="tiers.sop_reminders", cron="5 1 * * *", task=tasks.send_sop_reminders, catch_up=False),
]
