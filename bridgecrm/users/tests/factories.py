from __future__ import annotations

import factory

from bridgecrm.users import services
from bridgecrm.users.models import Role, Team, TeamKind, User

PASSWORD = "correct horse battery staple"


def role(code: str) -> Role:
    return Role.objects.get(code=code)


def make_team(name: str, *, parent: Team | None = None, kind: str = TeamKind.TEAM, manager: User | None = None) -> Team:
    team = services.team_create(actor=None, name=name, kind=kind, parent=parent)
    if manager is not None:
        Team.objects.filter(pk=team.pk).update(manager=manager)
        team.refresh_from_db()
    return team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="zh_CN")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    time_zone = "Asia/Shanghai"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
