"""Ids in a request body → the objects the actor may see. An id the actor may not see is refused
exactly like one that does not exist (400 ``invalid``), so the API never confirms what it hides."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError
from bridgecrm.users.models import User


def bad_reference(field: str) -> ApplicationError:
    return ApplicationError("invalid", _("Unknown or invalid reference."), details={field: ["unknown"]})


def visible_people(actor: User, ids: list[int], field: str) -> list[User]:
    found = list(User.objects.visible_to(actor).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise bad_reference(field)
    return found
