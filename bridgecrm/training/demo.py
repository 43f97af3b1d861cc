"""Demo data for training, coaching and the know-how library: courses, sessions over the past two
quarters with enrolments, attendance and scores (some not completed), coaching plans for a few reps
(one check-in due), and a bilingual know-how library. Written directly (bulk), dated before ``today``;
meant for a fresh demo database."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.demo_deals import local_at
from bridgecrm.pipeline.models import Product
from bridgecrm.training.models import (
    Article,
    ArticleKind,
    CoachingCheckIn,
    CoachingPlan,
    CourseKind,
    Enrollment,
    TrainingCourse,
    TrainingMaterial,
    TrainingSession,
)
from bridgecrm.training.services import is_completion
from bridgecrm.users.models import Team, User

COURSES = [
    ("异议处理 Objection handling", CourseKind.SKILL, Decimal("70"), "应对价格、竞品与时机三类常见异议。"),
    ("大客户拜访 Key-account visits", CourseKind.SKILL, None, "拜访前准备、决策链梳理与拜访后跟进。"),
    ("产品深度培训 Product deep dive", CourseKind.PRODUCT, Decimal("80"), "核心产品的功能、定价与典型方案。"),
    ("合同与回款合规 Contracts & collections", CourseKind.COMPLIANCE, Decimal("60"), "合同审批、开票与回款流程。"),
    ("新人销售训练营 Sales bootcamp", CourseKind.SKILL, Decimal("75"), "Funnel stages, follow-up routine, CRM habits."),
]

ARTICLES = [
    (
        ArticleKind.SUCCESS_STORY,
        "三个月拿下华东医疗集团：从试点到全院推广",
        "医疗, 大客户, 试点",
        "背景：客户原用竞品，续约前三个月我们开始接触。\n\n做法：\n1. 先找信息科主任做小范围试点，两周内交付报表。\n"
        "2. 试点数据在院周会上由客户自己汇报。\n3. 报价按科室分期，降低一次性预算压力。\n\n"
        "结果：全院推广，合同额 180 万。",
    ),
    (
        ArticleKind.OBJECTION,
        "“你们太贵了”——价格异议怎么接",
        "价格, 异议",
        "不要马上降价。先问：“和什么比贵？”\n\n- 和竞品比：拿出总拥有成本对比表（实施、培训、维护三年合计）。\n"
        "- 和预算比：拆分付款计划，或先上核心模块。\n- 和不做比：算清楚现在每月的人工成本。\n\n"
        "降价只作为交换条件：更长合同期、预付款或案例授权。",
    ),
    (
        ArticleKind.PLAYBOOK,
        "首次拜访清单",
        "拜访, 清单",
        "拜访前：查看客户跟进记录与商机阶段；确认到场人和决策链。\n拜访中：只问不讲前 15 分钟；记录三个痛点。\n"
        "拜访后：24 小时内发纪要，约定下一步和日期，录入跟进记录。",
    ),
    (
        ArticleKind.OBJECTION,
        "“我们再考虑考虑”",
        "异议, 推进",
        "这句话通常意味着还有没说出来的顾虑。\n\n问：“您最担心的是哪一点？是效果、预算还是内部推动？”\n"
        "然后针对性给材料，并约定一个明确的回复日期。",
    ),
    (
        ArticleKind.PLAYBOOK,
        "回款催收三步法",
        "回款, 合同",
        "到期前 7 天：发友好提醒和发票。\n到期当天：电话确认付款安排。\n"
        "逾期 7 天：升级到客户财务负责人，同时抄送我方销售经理。",
    ),
    (
        ArticleKind.SUCCESS_STORY,
        "Winning back a lost account with a pilot",
        "win-back, pilot",
        "We lost the account on price two years ago. This year their new IT lead had a reporting problem.\n\n"
        "We offered a four-week pilot on one site, priced as a service, and let their team present the results.\n\n"
        "They signed a three-year contract for all sites.",
    ),
    (
        ArticleKind.PLAYBOOK,
        "Discovery call in five questions",
        "discovery, calls",
        "1. What made you look at this now?\n2. What happens if you do nothing?\n3. Who else cares about this?\n"
        "4. How will you decide, and by when?\n5. What would make this a clear success in six months?",
    ),
    (
        ArticleKind.OBJECTION,
        '"We already use a competitor"',
        "competitor, objection",
        "Agree first: many good teams do. Then ask what they would improve if they could change one thing.\n\n"
        "Offer a side-by-side on that single point, not a full replacement pitch.",
    ),
    (
        ArticleKind.PLAYBOOK,
        "Multi-threading a large deal",
        "key accounts, deals",
        "Never rely on one champion. By the proposal stage, have a named contact in IT, finance and the business.\n\n"
        "Log each contact's view in the follow-ups so the team can see who is for, neutral or against.",
    ),
]


def _local(day: dt.date, hour: int) -> dt.datetime:
    return local_at(day, hour * 60)  # in the demo's time zone (Asia/Shanghai)


def create_demo_training(*, today: dt.date, seed: int = 7) -> dict[str, int]:
    """Courses, sessions over the last two quarters (plus two upcoming) with enrolments, attendance
    and scores, coaching plans for a few reps (one check-in due today), and 9 library articles."""
    rng = random.Random(seed + 503)
    people = list(User.objects.filter(is_active=True).select_related("role", "team").order_by("pk"))
    reps = [u for u in people if u.role is not None and u.role.code == "rep"]
    admin = next((u for u in people if u.role is not None and u.role.code == "admin"), None)
    managers = {t.pk: t.manager for t in Team.objects.filter(manager__isnull=False).select_related("manager")}
    product = Product.objects.filter(is_active=True).order_by("pk").first()
    courses = [
        TrainingCourse.objects.create(
            title=title,
            kind=kind,
            pass_score=pass_score,
            description=description,
            product=product if kind == CourseKind.PRODUCT else None,
        )
        for title, kind, pass_score, description in COURSES
    ]
    trainers = [m for m in managers.values() if m is not None] or ([admin] if admin else [])
    sessions: list[TrainingSession] = []
    enrollments: list[Enrollment] = []
    start = today - dt.timedelta(days=182)
    day = start
    index = 0
    while day < today + dt.timedelta(days=21):
        course = courses[index % len(courses)]
        starts = _local(day, 14)
        session = TrainingSession.objects.create(
            course=course,
            starts_at=starts,
            duration_minutes=rng.choice([60, 90, 120]),
            trainer=rng.choice(trainers) if trainers else None,
            location=rng.choice(["上海总部 3F 培训室", "Online (Tencent Meeting)", "北京分公司会议室"]),
            is_open=index % 4 != 3,
            created_by=admin,
            created_at=starts - dt.timedelta(days=10),
        )
        sessions.append(session)
        if index % 3 == 0:
            TrainingMaterial.objects.create(
                session=session, title="课件 Slides", link="https://example.com/training/slides", uploaded_by=admin
            )
        past = day < today
        for rep in rng.sample(reps, min(len(reps), rng.randint(6, 12))):
            attended: bool | None = None
            score: Decimal | None = None
            completed_at = None
            if past:
                attended = rng.random() < 0.85
                if attended and course.pass_score is not None:
                    score = Decimal(rng.randint(50, 100))
                if is_completion(attended=attended, score=score, pass_score=course.pass_score):
                    completed_at = starts + dt.timedelta(minutes=session.duration_minutes)
            enrollments.append(
                Enrollment(
                    session=session,
                    user=rep,
                    attended=attended,
                    score=score,
                    completed_at=completed_at,
                    created_at=starts - dt.timedelta(days=7),
                )
            )
        day += dt.timedelta(days=14)
        index += 1
    Enrollment.objects.bulk_create(enrollments, batch_size=500)

    plans = 0
    check_ins = 0
    coached = [r for r in reps if r.team_id is not None and managers.get(r.team_id) is not None][:5]
    goals = [
        ("提升赢单率 Raise the win rate", "win_rate: 赢单率", "把赢单率从 22% 提升到 30%。"),
        ("多拜访大客户 More key-account visits", "visits: 拜访", "每周至少 3 次大客户拜访。"),
        ("缩短回款周期 Faster collections", "collection_rate: 回款率", "逾期回款降到 5% 以内。"),
    ]
    for i, rep in enumerate(coached):
        coach = managers[rep.team_id] if rep.team_id is not None else None
        assert coach is not None
        title, kpi, goal = goals[i % len(goals)]
        code, _sep, label = kpi.partition(": ")
        next_check_in = today if i == 0 else today + dt.timedelta(days=7 + 3 * i)
        plan = CoachingPlan.objects.create(
            rep=rep,
            coach=coach,
            title=title,
            goals=goal,
            kpis=[{"code": code, "label": label}],
            kpi_note="每月对照考核指标复盘一次。",
            next_check_in=next_check_in,
            created_at=_local(today - dt.timedelta(days=60), 10),
        )
        plans += 1
        for weeks in (6, 2):
            CoachingCheckIn.objects.create(
                plan=plan,
                held_on=today - dt.timedelta(weeks=weeks),
                note=rng.choice(
                    [
                        "进展不错，重点跟进两个大商机。",
                        "Good progress; focus on the two big deals.",
                        "拜访量达标，报价转化偏低。",
                    ]
                ),
                private_note=rng.choice(["", "Needs help with discount discipline.", "考虑下季度晋升。"]),
                author=coach,
            )
            check_ins += 1

    customer = Customer.objects.filter(owner__in=reps, deleted_at__isnull=True).order_by("pk").first()
    authors = reps or ([admin] if admin else [])
    articles = []
    for i, (kind, title, tags, body) in enumerate(ARTICLES):
        tag_list = [t.strip().lower() for t in tags.split(",") if t.strip()]
        author = authors[i % len(authors)] if authors else None
        at = _local(today - dt.timedelta(days=90 - 9 * i), 11)
        articles.append(
            Article(
                kind=kind,
                title=title,
                body=body,
                tags=f",{','.join(tag_list)},",
                author=author,
                customer=customer
                if i == 0 and customer is not None and customer.owner_id == getattr(author, "pk", None)
                else None,
                product=product if kind == ArticleKind.SUCCESS_STORY else None,
                created_at=at,
                updated_at=at,
            )
        )
    Article.objects.bulk_create(articles)
    return {
        "training courses": len(courses),
        "training sessions": len(sessions),
        "enrolments": len(enrollments),
        "completed enrolments": sum(1 for e in enrollments if e.completed_at is not None),
        "coaching plans": plans,
        "check-ins": check_ins,
        "library articles": len(articles),
    }
