"""Demo follow-ups (跟进记录) and tasks (任务) over the two years that end today, by seed.

- About 20,000 follow-ups: half along the demo deals' lives (linked to the deal), half on the
  customers at large; far more on working days than at weekends, Spring Festival, Labour Day or
  National Day; calls > WeChat > visits (checked in at coordinates in the customer's city) >
  meetings > e-mail; by the customer's owner, a meeting now and then by the team's manager.
- ``Customer.last_follow_up_at`` / ``next_follow_up_on`` are what the follow-ups say: the newest
  occurrence, and the next date of the newest follow-up. Each rep has some customers due today and
  some overdue, so "my day" has work to show.
- Tasks for everyone who owns customers: done ones in the past, some overdue, some due today and
  upcoming ones, with reminders (those already due are marked sent).

Rows are bulk-inserted without per-row audit entries (the demo writes history, it does not replay it
through the services); the customers' denormalised follow-up fields are kept consistent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bridgecrm.activities.models import FollowUp, FollowUpKind, FollowUpOutcome, Task, TaskPriority
from bridgecrm.customers.models import Contact, Customer, LifecycleStage
from bridgecrm.pipeline.demo_deals import (
    YEARS_DAYS,
    DemoCalendar,
    DemoDeal,
    local_at,
    local_date,
    working_time,
)
from bridgecrm.pipeline.models import DealStatus
from bridgecrm.users.models import Team, User

# City centres (WGS-84) for visit check-ins; foreign customers by country.
CITY_CENTRES: dict[str, tuple[float, float]] = {
    "北京": (39.9042, 116.4074), "上海": (31.2304, 121.4737), "天津": (39.3434, 117.3616),
    "重庆": (29.5630, 106.5516), "广州": (23.1291, 113.2644), "深圳": (22.5431, 114.0579),
    "东莞": (23.0207, 113.7518), "佛山": (23.0215, 113.1214), "珠海": (22.2710, 113.5767),
    "杭州": (30.2741, 120.1551), "宁波": (29.8683, 121.5440), "温州": (27.9938, 120.6994),
    "绍兴": (29.9958, 120.5861), "南京": (32.0603, 118.7969), "苏州": (31.2990, 120.5853),
    "无锡": (31.4912, 120.3119), "常州": (31.8107, 119.9741), "济南": (36.6512, 117.1201),
    "青岛": (36.0671, 120.3826), "烟台": (37.4638, 121.4479), "福州": (26.0745, 119.2965),
    "厦门": (24.4798, 118.0894), "泉州": (24.8741, 118.6757), "成都": (30.5728, 104.0668),
    "绵阳": (31.4675, 104.6796), "武汉": (30.5928, 114.3055), "宜昌": (30.6919, 111.2865),
    "长沙": (28.2282, 112.9388), "株洲": (27.8274, 113.1340), "郑州": (34.7466, 113.6254),
    "洛阳": (34.6197, 112.4540), "合肥": (31.8206, 117.2272), "芜湖": (31.3526, 118.4331),
    "沈阳": (41.8057, 123.4315), "大连": (38.9140, 121.6147), "西安": (34.3416, 108.9398),
}  # fmt: skip
COUNTRY_CENTRES: dict[str, tuple[str, float, float]] = {
    "SG": ("Singapore", 1.2966, 103.8520), "MY": ("Kuala Lumpur", 3.1390, 101.6869),
    "HK": ("Hong Kong", 22.3193, 114.1694), "US": ("San Jose", 37.3382, -121.8863),
    "DE": ("Munich", 48.1351, 11.5820), "GB": ("London", 51.5072, -0.1276),
    "JP": ("Tokyo", 35.6762, 139.6503), "AU": ("Sydney", -33.8688, 151.2093),
}  # fmt: skip
DISTRICTS = ("高新区", "经济开发区", "工业园区", "中心城区", "自贸区")
ROADS = ("科技路", "创新大道", "人民路", "建设路", "长江路", "金融街", "软件园路")
ROADS_EN = ("Market Street", "Science Park Drive", "Harbour Road", "King Street", "Innovation Way")

Weights = tuple[tuple[str, int], ...]
KINDS_ZH: Weights = (
    (FollowUpKind.CALL, 38),
    (FollowUpKind.WECHAT, 27),
    (FollowUpKind.VISIT, 15),
    (FollowUpKind.MEETING, 10),
    (FollowUpKind.EMAIL, 7),
    (FollowUpKind.NOTE, 3),
)
KINDS_EN: Weights = (  # abroad: more e-mail and less WeChat, still calls > visits > meetings > e-mail
    (FollowUpKind.CALL, 40),
    (FollowUpKind.VISIT, 15),
    (FollowUpKind.MEETING, 14),
    (FollowUpKind.EMAIL, 13),
    (FollowUpKind.WECHAT, 12),
    (FollowUpKind.NOTE, 6),
)
OUTCOMES_CALL: Weights = (
    (FollowUpOutcome.POSITIVE, 30),
    (FollowUpOutcome.NEUTRAL, 35),
    (FollowUpOutcome.NEGATIVE, 10),
    (FollowUpOutcome.NO_ANSWER, 25),
)
OUTCOMES: Weights = ((FollowUpOutcome.POSITIVE, 40), (FollowUpOutcome.NEUTRAL, 45), (FollowUpOutcome.NEGATIVE, 15))
SUMMARIES_ZH: dict[str, tuple[str, ...]] = {
    FollowUpKind.CALL: (
        "电话沟通{topic}进展，{contact}表示下周内部讨论",
        "致电{contact}确认需求细节和上线时间",
        "电话回访使用情况，{contact}反馈整体满意",
        "电话确认预算审批进度",
    ),
    FollowUpKind.WECHAT: (
        "微信发送{topic}资料给{contact}",
        "微信沟通报价细节，{contact}反馈价格偏高",
        "微信跟进试用情况，约下次演示时间",
        "微信发送案例与白皮书",
    ),
    FollowUpKind.VISIT: (
        "上门拜访{contact}，现场演示系统",
        "拜访客户，了解{topic}需求与预算",
        "到访客户现场，与 IT 团队交流部署方案",
    ),
    FollowUpKind.MEETING: (
        "与{contact}及采购部门开会评审{topic}方案",
        "线上会议演示{topic}",
        "商务谈判会议，讨论付款条件和交付周期",
    ),
    FollowUpKind.EMAIL: ("邮件发送方案与报价给{contact}", "邮件答复技术问题", "发送会议纪要和下一步计划"),
    FollowUpKind.NOTE: ("备注：客户预算审批中", "备注：客户提到竞争对手的报价", "备注：决策人下月出差"),
}
SUMMARIES_EN: dict[str, tuple[str, ...]] = {
    FollowUpKind.CALL: ("Call with {contact} about {topic}", "Called {contact} to confirm the timeline"),
    FollowUpKind.WECHAT: ("Sent {topic} material to {contact} on WeChat",),
    FollowUpKind.VISIT: ("Visited {contact} on site, live demo", "Site visit: requirements and budget for {topic}"),
    FollowUpKind.MEETING: ("Meeting with {contact} and procurement on {topic}", "Online demo of {topic}"),
    FollowUpKind.EMAIL: ("Sent the proposal to {contact}", "Answered technical questions by e-mail"),
    FollowUpKind.NOTE: ("Note: budget approval pending", "Note: a competitor has quoted lower"),
}
NO_ANSWER_ZH = "电话未接通，稍后再联系"
NO_ANSWER_EN = "No answer, will try again"
TOPICS_ZH = ("CRM 系统", "数字化项目", "续约", "培训计划", "硬件采购")
TOPICS_EN = ("the CRM project", "the renewal", "training", "the rollout")
TASK_TITLES_ZH = (
    "给{customer}回电话",
    "准备{customer}的方案",
    "发送报价单给{customer}",
    "跟进{customer}的回款",
    "预约{customer}上门拜访",
    "整理{customer}的合同资料",
    "确认{customer}的采购流程",
)
TASK_TITLES_EN = ("Call {customer} back", "Prepare the proposal for {customer}", "Chase payment from {customer}")
CUSTOMER_WEIGHT = {
    LifecycleStage.CUSTOMER: 3.0,
    LifecycleStage.PROSPECT: 2.5,
    LifecycleStage.LEAD: 1.5,
    LifecycleStage.CHURNED: 0.7,
}


@dataclass
class ActivitiesResult:
    follow_ups: int
    tasks: int


def _weighted[T](rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def _checkin(rng: random.Random, customer: Customer) -> tuple[Decimal, Decimal, str]:
    if customer.country == "CN":
        lat, lng = CITY_CENTRES.get(customer.city, CITY_CENTRES["上海"])
        city = customer.city or "上海"
        address = f"{city}{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
    else:
        city, lat, lng = COUNTRY_CENTRES.get(customer.country, COUNTRY_CENTRES["SG"])
        address = f"{rng.randint(1, 300)} {rng.choice(ROADS_EN)}, {city}"
    q = Decimal("0.000001")
    return (
        Decimal(str(lat + rng.uniform(-0.04, 0.04))).quantize(q),
        Decimal(str(lng + rng.uniform(-0.04, 0.04))).quantize(q),
        address,
    )


def create_demo_activities(
    *,
    seed: int,
    now: dt.datetime,
    deals: Sequence[DemoDeal],
    follow_ups: int = 20000,
    tasks_per_person: int = 30,
) -> ActivitiesResult:
    rng = random.Random(seed * 13 + 7)
    today = local_date(now)
    start_day = today - dt.timedelta(days=YEARS_DAYS)
    calendar = DemoCalendar(start_day - dt.timedelta(days=7), today + dt.timedelta(days=60))
    customers = list(Customer.objects.filter(deleted_at__isnull=True, owner__isnull=False).order_by("pk"))
    if not customers:
        return ActivitiesResult(0, 0)
    by_pk = {c.pk: c for c in customers}
    contacts: dict[int, list[tuple[int, str]]] = {}
    for contact_id, customer_id, name in Contact.objects.order_by("customer_id", "-is_primary", "pk").values_list(
        "pk", "customer_id", "name"
    ):
        contacts.setdefault(customer_id, []).append((contact_id, name))
    managers = dict(Team.objects.exclude(manager__isnull=True).values_list("pk", "manager_id"))
    team_of = dict(User.objects.values_list("pk", "team_id"))

    rows: list[FollowUp] = []

    def add(customer: Customer, moment: dt.datetime, deal: DemoDeal | None, topic: str) -> None:
        international = customer.country != "CN"
        kind = _weighted(rng, KINDS_EN if international else KINDS_ZH)
        outcome = _weighted(rng, OUTCOMES_CALL if kind == FollowUpKind.CALL else OUTCOMES)
        people = contacts.get(customer.pk, [])
        contact = None
        if deal is not None and deal.deal.contact_id is not None and rng.random() < 0.7:
            contact = next((c for c in people if c[0] == deal.deal.contact_id), None)
        if contact is None and people:
            contact = people[0] if rng.random() < 0.6 else rng.choice(people)
        contact_name = contact[1] if contact else customer.name
        if outcome == FollowUpOutcome.NO_ANSWER:
            summary = NO_ANSWER_EN if international else NO_ANSWER_ZH
        else:
            template = rng.choice((SUMMARIES_EN if international else SUMMARIES_ZH)[kind])
            summary = template.format(contact=contact_name, topic=topic)
        assert customer.owner_id is not None
        owner_id = customer.owner_id
        if kind in (FollowUpKind.MEETING, FollowUpKind.VISIT) and rng.random() < 0.15:
            owner_id = managers.get(team_of.get(owner_id) or 0) or owner_id
        moment = min(max(moment, customer.created_at + dt.timedelta(minutes=5)), now - dt.timedelta(minutes=1))
        follow_up = FollowUp(
            customer_id=customer.pk,
            contact_id=contact[0] if contact else None,
            deal=deal.deal if deal is not None else None,
            kind=kind,
            occurred_at=moment,
            summary=summary,
            outcome=outcome,
            owner_id=owner_id,
            created_at=moment,
            updated_at=moment,
        )
        if rng.random() < 0.55:
            follow_up.next_follow_up_on = local_date(moment) + dt.timedelta(days=rng.randint(1, 14))
        if kind == FollowUpKind.VISIT:
            lat, lng, address = _checkin(rng, customer)
            follow_up.checkin_latitude, follow_up.checkin_longitude = lat, lng
            follow_up.checkin_address = address
            follow_up.checkin_at = moment
        rows.append(follow_up)

    def moment_between(lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        day = calendar.pick(rng, local_date(lo), local_date(hi))
        moment = working_time(rng, day)
        if moment > now:
            moment = now - dt.timedelta(minutes=rng.randint(1, 180))
        return moment

    # Half along the deals' lives, linked to them.
    share = follow_ups // 2 if deals else 0
    per_deal = share / len(deals) if deals else 0.0
    for d in deals:
        customer = by_pk.get(d.deal.customer_id)
        if customer is None:
            continue
        k = max(1, round(per_deal * rng.uniform(0.4, 1.6)))
        end = d.closed_at or now
        topic = d.deal.name.split("–")[-1].strip() if d.international else rng.choice(TOPICS_ZH)
        for _ in range(k):
            add(customer, moment_between(d.created_at, end), d, topic)
    # The rest on the customers at large.
    weights = [CUSTOMER_WEIGHT.get(LifecycleStage(c.lifecycle_stage), 1.0) for c in customers]
    cumulative = list(itertools.accumulate(weights))
    for _ in range(max(0, follow_ups - len(rows))):
        customer = rng.choices(customers, cum_weights=cumulative)[0]
        topics = TOPICS_EN if customer.country != "CN" else TOPICS_ZH
        add(customer, moment_between(customer.created_at, now), None, rng.choice(topics))

    # The customer's last and next follow-up, with work due today and overdue for each owner.
    rows.sort(key=lambda f: (f.occurred_at, f.customer_id))
    newest: dict[int, FollowUp] = {}
    for f in rows:
        newest[f.customer_id] = f  # ascending: the last one wins
    by_owner: dict[int, list[FollowUp]] = {}
    for f in newest.values():
        owner_id = by_pk[f.customer_id].owner_id
        assert owner_id is not None
        by_owner.setdefault(owner_id, []).append(f)
    for owner_id in sorted(by_owner):
        latest = sorted(by_owner[owner_id], key=lambda f: (f.occurred_at, f.customer_id), reverse=True)
        due_today = overdue = 0
        for f in latest:
            occurred = local_date(f.occurred_at)
            age = (today - occurred).days
            if due_today < 3:
                f.next_follow_up_on = today
                due_today += 1
            elif overdue < 3 and age >= 2:
                f.next_follow_up_on = today - dt.timedelta(days=rng.randint(1, min(age - 1, 10)))
                overdue += 1
            elif age <= 30:
                roll = rng.random()
                if roll < 0.1:
                    f.next_follow_up_on = today
                elif roll < 0.3 and age >= 2:
                    f.next_follow_up_on = occurred + dt.timedelta(days=rng.randint(1, age - 1))
                else:
                    f.next_follow_up_on = today + dt.timedelta(days=rng.randint(1, 21))
            elif rng.random() < 0.65:
                f.next_follow_up_on = None
            else:
                f.next_follow_up_on = occurred + dt.timedelta(days=rng.randint(3, 14))
    # The activities services take the next date from the newest follow-up that set one, unless a
    # later follow-up happened on or after it. When the newest set none, the dates set before it
    # are those of work it did: none lies after it, so both readings agree there is no next date.
    for f in rows:
        newest_of_customer = newest[f.customer_id]
        if newest_of_customer.next_follow_up_on is None and f is not newest_of_customer and f.next_follow_up_on:
            f.next_follow_up_on = min(f.next_follow_up_on, local_date(newest_of_customer.occurred_at))
    FollowUp.objects.bulk_create(rows, batch_size=2000)
    touched = []
    for customer_id, f in newest.items():
        customer = by_pk[customer_id]
        customer.last_follow_up_at = f.occurred_at
        customer.next_follow_up_on = f.next_follow_up_on
        touched.append(customer)
    Customer.objects.bulk_update(touched, ["last_follow_up_at", "next_follow_up_on"], batch_size=100)

    # ---- tasks ------------------------------------------------------------------------------------
    tasks: list[Task] = []
    customers_of: dict[int, list[Customer]] = {}
    for c in customers:
        assert c.owner_id is not None
        customers_of.setdefault(c.owner_id, []).append(c)
    open_deals: dict[int, list[DemoDeal]] = {}
    for d in deals:
        if d.deal.status == DealStatus.OPEN:
            open_deals.setdefault(d.deal.owner_id, []).append(d)
    upcoming = 6 + max(2, round(tasks_per_person * 0.15))  # 3 due today, 3 overdue, then upcoming, then done
    for assignee_id in sorted(customers_of):
        theirs = customers_of[assignee_id]
        manager_id = managers.get(team_of.get(assignee_id) or 0) or assignee_id
        for n in range(tasks_per_person):
            customer = rng.choice(theirs)
            international = customer.country != "CN"
            deal = None
            if open_deals.get(assignee_id) and rng.random() < 0.35:
                deal = rng.choice(open_deals[assignee_id])
                customer = by_pk.get(deal.deal.customer_id, customer)
            if n < 3:  # due today
                due = local_at(today, rng.randint(9 * 60, 18 * 60))
            elif n < 6:  # overdue
                due = working_time(rng, calendar.pick(rng, today - dt.timedelta(days=20), today - dt.timedelta(days=1)))
            elif n < upcoming:  # coming up
                due = working_time(rng, calendar.pick(rng, today + dt.timedelta(days=1), today + dt.timedelta(days=21)))
            else:  # done, over the two years, more of them lately
                lo = today - dt.timedelta(days=int(YEARS_DAYS * rng.random() ** 1.5))
                due = working_time(rng, calendar.pick(rng, lo, today - dt.timedelta(days=1)))
            created_at = min(now, due - dt.timedelta(days=rng.randint(1, 10), minutes=rng.randint(0, 300)))
            done_at = None
            if n >= upcoming and due < now:
                done_at = min(now, due - dt.timedelta(minutes=rng.randint(-600, 2880)))
                done_at = max(done_at, created_at + dt.timedelta(minutes=5))
            remind_at = due - dt.timedelta(minutes=30) if rng.random() < 0.5 else None
            title = rng.choice(TASK_TITLES_EN if international else TASK_TITLES_ZH).format(customer=customer.name)
            tasks.append(
                Task(
                    title=title[:200],
                    due_at=due,
                    remind_at=remind_at,
                    reminded_at=remind_at if remind_at is not None and remind_at <= now else None,
                    priority=_weighted(
                        rng, ((TaskPriority.NORMAL, 60), (TaskPriority.HIGH, 25), (TaskPriority.LOW, 15))
                    ),
                    assignee_id=assignee_id,
                    created_by_id=assignee_id if rng.random() < 0.8 else manager_id,
                    customer_id=customer.pk,
                    deal=deal.deal if deal is not None else None,
                    done_at=done_at,
                    created_at=created_at,
                    updated_at=done_at or created_at,
                )
            )
    Task.objects.bulk_create(tasks, batch_size=2000)
    return ActivitiesResult(len(rows), len(tasks))
