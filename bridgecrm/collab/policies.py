"""Who may do what with comments and follows. Seeing the record is checked by the selectors
(``visible_to``: what one may not see is a 404); these answer the rest."""

from __future__ import annotations

from bridgecrm.collab.models import Comment
from bridgecrm.users.models import User


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def may_comment(actor: User | None) -> bool:
    """Anyone active who sees the record may comment on it and follow it."""
    return _active(actor)


def may_change_comment(actor: User | None, comment: Comment) -> bool:
    """Only the author edits or deletes their comment, and a deleted one no more."""
    return _active(actor) and actor is not None and comment.author_id == actor.pk and comment.deleted_at is None
