"""Who may define custom fields, and who sees or edits a field's values.

Definitions are company settings: holders of ``fields.manage`` (admins by default) change them. A
field's ``visible_to`` and ``editable_by`` roles limit who sees and who edits its values; an empty
set means every role. Editing needs seeing: a role that may edit but not see a field does neither.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from bridgecrm.users.capabilities import MANAGE_FIELDS

if TYPE_CHECKING:
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_manage(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_FIELDS)


def role_allowed(actor: User | None, role_ids: Collection[int]) -> bool:
    """An empty list of roles means everyone; otherwise the actor's role must be listed."""
    if actor is None or not _active(actor):
        return False
    return not role_ids or actor.role_id in role_ids
