"""Demo customers: about 2,000 customers and 5,000 contacts (2–3 each), reproducible by seed.

Rows are bulk-inserted (a few seconds, not minutes). Each customer still gets its one audit
"create" row, written in bulk as the system, so its page shows where it came from.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from bridgecrm.core import audit, context
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.customers import normalise
from bridgecrm.customers import phones as phone_numbers
from bridgecrm.customers.models import (
    Contact,
    ContactPhone,
    Customer,
    CustomerKind,
    CustomerSource,
    DecisionRole,
    Industry,
    LifecycleStage,
    Province,
    SizeBand,
    Tag,
)
from bridgecrm.customers.services import CUSTOMER_FIELDS
from bridgecrm.users.models import User

CITIES: dict[str, list[str]] = {
    "BJ": ["北京"],
    "SH": ["上海"],
    "TJ": ["天津"],
    "CQ": ["重庆"],
    "GD": ["广州", "深圳", "东莞", "佛山", "珠海"],
    "ZJ": ["杭州", "宁波", "温州", "绍兴"],
    "JS": ["南京", "苏州", "无锡", "常州"],
    "SD": ["济南", "青岛", "烟台"],
    "FJ": ["福州", "厦门", "泉州"],
    "SC": ["成都", "绵阳"],
    "HB": ["武汉", "宜昌"],
    "HN": ["长沙", "株洲"],
    "HA": ["郑州", "洛阳"],
    "AH": ["合肥", "芜湖"],
    "LN": ["沈阳", "大连"],
    "SN": ["西安"],
}
AREA_CODES = {
    "北京": "010", "上海": "021", "天津": "022", "重庆": "023", "广州": "020", "深圳": "0755", "东莞": "0769",
    "佛山": "0757", "珠海": "0756", "杭州": "0571", "宁波": "0574", "温州": "0577", "绍兴": "0575", "南京": "025",
    "苏州": "0512", "无锡": "0510", "常州": "0519", "济南": "0531", "青岛": "0532", "烟台": "0535", "福州": "0591",
    "厦门": "0592", "泉州": "0595", "成都": "028", "绵阳": "0816", "武汉": "027", "宜昌": "0717", "长沙": "0731",
    "株洲": "0731", "郑州": "0371", "洛阳": "0379", "合肥": "0551", "芜湖": "0553", "沈阳": "024", "大连": "0411",
    "西安": "029",
}  # fmt: skip
ZH_WORDS = ["华", "瑞", "鑫", "恒", "达", "宏", "信", "联", "海", "金", "泰", "安", "盛", "博", "嘉", "远", "新", "润"]
ZH_SUFFIX = {
    Industry.MANUFACTURING: ["精密机械", "电子", "新材料", "汽车零部件", "智能装备"],
    Industry.RETAIL: ["商贸", "百货", "食品", "电子商务"],
    Industry.TECHNOLOGY: ["信息技术", "软件", "网络科技", "数据科技"],
    Industry.FINANCE: ["投资", "融资租赁", "保险代理"],
    Industry.HEALTHCARE: ["医疗器械", "生物科技", "医药"],
    Industry.EDUCATION: ["教育科技", "培训中心"],
    Industry.LOGISTICS: ["物流", "供应链", "国际货运"],
    Industry.CONSTRUCTION: ["建设工程", "置业", "建材"],
    Industry.ENERGY: ["新能源", "光伏", "电力设备"],
    Industry.GOVERNMENT: ["公共服务中心"],
    Industry.OTHER: ["实业", "咨询"],
}
ZH_FORM = ["有限公司", "股份有限公司", "集团有限公司"]
EN_FIRST = ["Pacific", "Golden", "Harbor", "Summit", "Lion City", "Evergreen", "Orchid", "Meridian", "Straits", "Nova"]
EN_SECOND = ["Trading", "Logistics", "Systems", "Foods", "Medical", "Components", "Energy", "Analytics", "Retail"]
EN_FORM = ["Pte Ltd", "Ltd", "Sdn Bhd", "GmbH", "Inc."]
EN_COUNTRIES = ["SG", "SG", "SG", "MY", "HK", "US", "DE", "GB", "JP", "AU"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "杰",
    "军",
    "丽",
    "强",
    "霞",
    "晨",
    "浩然",
    "子涵",
    "欣怡",
    "思远",
]
EN_PEOPLE = ["Emma Tan", "Liam Lim", "Olivia Ng", "Noah Wong", "Sophia Lee", "Lucas Müller", "Mia Rossi", "Ryan Kumar"]
TITLES_ZH = ["总经理", "采购经理", "技术总监", "财务总监", "运营主管", "IT 经理", "董事长", "采购专员"]
TITLES_EN = ["CEO", "Procurement Manager", "CTO", "CFO", "Operations Lead", "IT Manager", "Buyer"]
TAGS = ["vip", "重点客户", "老客户", "展会", "渠道", "key account", "续约", "价格敏感"]
STAGE_WEIGHTS = [(LifecycleStage.LEAD, 35), (LifecycleStage.PROSPECT, 30), (LifecycleStage.CUSTOMER, 28)]
STAGE_WEIGHTS.append((LifecycleStage.CHURNED, 7))


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"


def _pick_weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def create_demo_customers(
    *, seed: int, owners: Sequence[User], count: int = 2000, now: dt.datetime | None = None
) -> int:
    """Create ``count`` customers spread over ``owners`` with 2–3 contacts each (one primary), created
    over the two years before ``now``; returns the count."""
    rng = random.Random(seed)
    owners = [o for o in owners if o.is_active]
    if not owners:
        return 0
    now = now or timezone.now()
    customers: list[Customer] = []
    used: set[str] = set()
    for i in range(count):
        owner = rng.choice(owners)
        industry = rng.choice(list(Industry))
        international = (owner.language == "en") or rng.random() < 0.08
        kind = CustomerKind.INDIVIDUAL if rng.random() < 0.07 else CustomerKind.COMPANY
        province, city, country = "", "", "CN"
        if international:
            country = rng.choice(EN_COUNTRIES)
            extra = rng.choice(["", "Asia ", "Global ", "International ", "Holdings ", "Group ", "Solutions "])
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_SECOND)} {extra}{rng.choice(EN_FORM)}"
            if kind == CustomerKind.INDIVIDUAL:
                name = rng.choice(EN_PEOPLE)
        else:
            province = rng.choice(list(CITIES))
            city = rng.choice(CITIES[province])
            brand = rng.choice(ZH_WORDS) + rng.choice(ZH_WORDS)
            name = f"{city}{brand}{rng.choice(ZH_SUFFIX[industry])}{rng.choice(ZH_FORM)}"
            if kind == CustomerKind.INDIVIDUAL:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name in used:
            name = f"{name} ({city or country}-{i})" if kind == CustomerKind.COMPANY else f"{name} ({i})"
        used.add(name)
        created = now - dt.timedelta(days=rng.randint(0, 720), minutes=rng.randint(0, 1440))
        updated = min(now, created + dt.timedelta(days=rng.randint(0, 120)))
        potential = decimal.Decimal(rng.choice([5, 10, 20, 50, 80, 120, 300, 800]) * rng.randint(1, 9) * 10_000)
        customers.append(
            Customer(
                kind=kind,
                name=name,
                lifecycle_stage=_pick_weighted(rng, STAGE_WEIGHTS),
                source=rng.choice(list(CustomerSource)),
                industry=industry if kind == CustomerKind.COMPANY else "",
                country=country,
                province=province if province in Province.values else "",
                city=city,
                size=rng.choice(list(SizeBand)) if kind == CustomerKind.COMPANY else "",
                estimated_annual_potential=potential if rng.random() < 0.8 else None,
                currency="CNY" if country == "CN" else rng.choice(["CNY", "USD", "SGD"]),
                owner=owner,
                team_id=owner.team_id,
                created_at=created,
                updated_at=updated,
                owner_since=created,
                name_key=normalise.name_key(name),
            )
        )
    with transaction.atomic():
        Customer.objects.bulk_create(customers, batch_size=500)
        Tag.objects.bulk_create([Tag(name=t) for t in TAGS], ignore_conflicts=True)
        tag_ids = list(Tag.objects.filter(name__in=TAGS).values_list("pk", flat=True))
        through = Customer.tags.through
        links = []
        for c in customers:
            for tag_id in rng.sample(tag_ids, k=rng.choice([0, 0, 1, 1, 2, 3])):
                links.append(through(customer_id=c.pk, tag_id=tag_id))
        through.objects.bulk_create(links, batch_size=1000)
        contacts: list[Contact] = []
        raw_phones: list[list[tuple[str, str, str]]] = []
        for c in customers:
            for n in range(rng.choice([2, 2, 3, 3])):
                zh = c.country == "CN"
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) if zh else rng.choice(EN_PEOPLE)
                numbers: list[tuple[str, str, str]] = []
                candidates = [_mobile(rng)] if zh else []
                if zh and c.city in AREA_CODES and rng.random() < 0.4:
                    candidates.append(f"{AREA_CODES[c.city]}-{rng.randint(20_000_000, 89_999_999)}")
                for raw in candidates:
                    phone = phone_numbers.normalise(raw)
                    if phone is not None:  # only numbers a user could have typed in
                        numbers.append((phone.raw, phone.e164, phone.kind))
                contacts.append(
                    Contact(
                        customer=c,
                        name=name,
                        title=rng.choice(TITLES_ZH if zh else TITLES_EN),
                        decision_role=rng.choice(list(DecisionRole)),
                        email=f"contact{c.pk}.{n}@demo-{c.pk}.example" if rng.random() < 0.7 else "",
                        wechat=f"wx_{c.pk}_{n}" if zh and rng.random() < 0.6 else "",
                        is_primary=n == 0,
                        created_at=c.created_at,
                        updated_at=c.created_at,
                    )
                )
                raw_phones.append(numbers)
        Contact.objects.bulk_create(contacts, batch_size=1000)
        phones = [
            ContactPhone(contact=contact, raw=raw, e164=e164, kind=kind)
            for contact, numbers in zip(contacts, raw_phones, strict=True)
            for raw, e164, kind in numbers
        ]
        ContactPhone.objects.bulk_create(phones, batch_size=1000)
        ct = ContentType.objects.get_for_model(Customer)
        ctx = context.current()
        rows = []
        for c in customers:
            values = audit.snapshot(c, CUSTOMER_FIELDS)
            rows.append(
                AuditEntry(
                    at=c.created_at,
                    source=ctx.source.value,
                    request_id=ctx.request_id,
                    actor_id=None,
                    actor_label="",
                    action=AuditAction.CREATE,
                    content_type=ct,
                    object_id=str(c.pk),
                    object_repr=c.name[:200],
                    new_value=values,
                )
            )
        AuditEntry.objects.bulk_create(rows, batch_size=1000)
    return len(customers)
