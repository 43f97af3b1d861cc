from bridgecrm.core.scheduler import Entry
from bridgecrm.incentives import tasks

SCHEDULE = [
    # 01:30 UTC on the 1st is 09:30 in Asia/Shanghai: last month's drafts are ready for approvers when
    # the month's first working morning starts. After downtime only the latest missed slot runs: the
    # task drafts the month before today, and a re-run rebuilds the same drafts.
    Entry(
        name="incentives.prepare_statements",
        cron="30 1 1 * *",
        task=tasks.prepare_last_month_statements,
        catch_up=False,
    ),
]
