"""The demo company: 3 regions, 6 teams, 30 people with Chinese and English names, by seed."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from django.db import transaction

from bridgecrm.users import services
from bridgecrm.users.models import Role, Team, TeamKind, User

COMPANY = "桥联科技 Bridge Tech"
REGIONS = [
    ("华东大区 East China", ["上海一组 Shanghai 1", "杭州组 Hangzhou"]),
    ("华南大区 South China", ["深圳组 Shenzhen", "广州组 Guangzhou"]),
    ("海外大区 International", ["Singapore Team", "Europe Team"]),
]
SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "周",
    "吴",
    "徐",
    "孙",
    "胡",
    "朱",
    "高",
    "林",
    "何",
    "郭",
    "马",
    "罗",
]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "晨",
    "浩然",
    "子涵",
    "雨桐",
    "欣怡",
    "梓萱",
    "思远",
    "嘉怡",
]
PINYIN = {
    "王": "wang",
    "李": "li",
    "张": "zhang",
    "刘": "liu",
    "陈": "chen",
    "杨": "yang",
    "黄": "huang",
    "赵": "zhao",
    "周": "zhou",
    "吴": "wu",
    "徐": "xu",
    "孙": "sun",
    "胡": "hu",
    "朱": "zhu",
    "高": "gao",
    "林": "lin",
    "何": "he",
    "郭": "guo",
    "马": "ma",
    "罗": "luo",
}
ENGLISH_FIRST = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Sophia",
    "Lucas",
    "Mia",
    "Ethan",
    "Chloe",
    "Daniel",
    "Grace",
    "Ryan",
]
ENGLISH_LAST = ["Tan", "Lim", "Müller", "Schmidt", "Smith", "Brown", "Wong", "Ng", "Rossi", "Martin", "Kumar", "Lee"]
REPS_PER_TEAM = (4, 4, 3, 3, 3, 3)  # one team after another: 20 reps, 30 people in all


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: str
    team: str
    password: str


def demo_exists() -> bool:
    return Team.objects.filter(kind=TeamKind.COMPANY, name=COMPANY).exists()


def _person(rng: random.Random, international: bool, used: set[str]) -> tuple[str, str]:
    while True:
        if international:
            first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
            full_name = f"{first} {last}"
            username = f"{first}.{last}".lower().replace("ü", "ue")
        else:
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            full_name = surname + given
            username = f"{PINYIN[surname]}.{len(used) + 1:02d}"
        if username not in used:
            used.add(username)
            return username, full_name


def create_demo_company(*, seed: int = 2026) -> list[DemoAccount]:
    """Create the company through the services (so it is audited as a system change)."""
    rng = random.Random(seed)
    roles = {r.code: r for r in Role.objects.all()}
    accounts: list[DemoAccount] = []
    used: set[str] = set()
    accounts_teams: list[str] = []

    def add(username: str, full_name: str, role: str, team: Team, international: bool) -> User:
        password = "-".join(secrets.token_hex(3) for _ in range(3))
        email_domain = "bridge-demo.example"
        user = services.user_create(
            actor=None,
            username=username,
            full_name=full_name,
            email=f"{username}@{email_domain}",
            team=team,
            role=roles[role],
            password=password,
            language="en" if international else "zh-hans",
            time_zone="Asia/Singapore" if international else "Asia/Shanghai",
        )
        accounts.append(DemoAccount(username, full_name, role, team.name, password))
        return user

    with transaction.atomic():
        company = services.team_create(actor=None, name=COMPANY, kind=TeamKind.COMPANY)
        director = add("director", "周总 (Director Zhou)", "admin", company, False)
        used.add("director")
        services.team_update(
            actor=director, team=company, name=company.name, kind=company.kind, parent=None, manager=director
        )
        for region_name, team_names in REGIONS:
            international = region_name.startswith("海外")
            region = services.team_create(actor=None, name=region_name, kind=TeamKind.REGION, parent=company)
            username, full_name = _person(rng, international, used)
            region_manager = add(username, full_name, "manager", region, international)
            services.team_update(
                actor=director, team=region, name=region.name, kind=region.kind, parent=company, manager=region_manager
            )
            for team_name in team_names:
                reps = REPS_PER_TEAM[len(accounts_teams)]
                accounts_teams.append(team_name)
                team = services.team_create(actor=None, name=team_name, kind=TeamKind.TEAM, parent=region)
                username, full_name = _person(rng, international, used)
                manager = add(username, full_name, "manager", team, international)
                services.team_update(
                    actor=director, team=team, name=team.name, kind=team.kind, parent=region, manager=manager
                )
                for _ in range(reps):
                    username, full_name = _person(rng, international, used)
                    add(username, full_name, "rep", team, international)
    return accounts
