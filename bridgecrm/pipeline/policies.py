"""Who may see and change products, pipelines, stages and lost reasons.

They are company settings, not owned records: every signed-in, active user reads them; holders of
``pipeline.manage`` (admins by default) change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridgecrm.users.capabilities import MANAGE_PIPELINE

if TYPE_CHECKING:
    from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_view(actor: User | None) -> bool:
    return _active(actor)


def may_manage(actor: User | None) -> bool:
    return _active(actor) and actor is not None and actor.can(MANAGE_PIPELINE)
