"""The one write path for comments, mentions and follows.

Callers fetch the record with ``selectors.record_get`` (a record the actor may not see is a 404
before anything here runs). Every write is audited. Notifications go out once per comment and
person: a mentioned person gets "mentioned", every other follower "new comment", the author none.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities import services as activity_services
from bridgecrm.activities.models import NotificationKind
from bridgecrm.collab import policies, selectors, text
from bridgecrm.collab.models import BODY_MAX, Comment, Follower, Mention
from bridgecrm.collab.selectors import Record
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.customers.models import Customer
from bridgecrm.users.models import User


def _invalid(field: str, message: object, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})  # type: ignore[arg-type]


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _clean_body(body: str) -> str:
    cleaned = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not cleaned:
        raise _invalid("body", _("Write a comment."), "required")
    if len(cleaned) > BODY_MAX:
        raise _invalid("body", _("A comment has at most %(max)d characters.") % {"max": BODY_MAX}, "too_long")
    return cleaned


def _mentioned_users(actor: User, record: Record, body: str) -> list[User]:
    """The people ``@named`` in ``body``; refused when one of them cannot see the record. Names that
    are nobody's username are ordinary text (an ``@`` in prose)."""
    names = text.mentioned_usernames(body)
    if len(names) > text.MAX_MENTIONS:
        raise _invalid(
            "body", _("Mention at most %(max)d people in one comment.") % {"max": text.MAX_MENTIONS}, "too_many"
        )
    users = list(User.objects.filter(username__in=names, is_active=True).exclude(pk=actor.pk)) if names else []
    blind = [u for u in users if not selectors.sees_record(u, record)]
    if blind:
        what = _("this customer") if isinstance(record, Customer) else _("this deal")
        raise _invalid(
            "body",
            _("%(names)s cannot see %(what)s, so they cannot be mentioned here.")
            % {"names": ", ".join("@" + u.username for u in blind), "what": what},
            "mention_not_visible",
        )
    return users


def _comment_url(record: Record, comment: Comment) -> str:
    return f"{selectors.record_url(record)}#comment-{comment.pk}"


def _follow_silently(user: User, record: Record) -> None:
    """Make ``user`` a follower (a commenter follows what they comment on)."""
    updated = Follower.objects.filter(selectors.on_record(record), user=user).update(active=True)
    if not updated:
        Follower.objects.create(user=user, **{selectors.record_kind(record): record})


def _notify(actor: User, record: Record, comment: Comment, mentioned: list[User], *, followers: bool) -> None:
    params = {"by": actor.display_name, "name": record.name, "comment_id": comment.pk}
    url = _comment_url(record, comment)
    done = {actor.pk}
    for user in mentioned:
        if user.pk not in done:
            activity_services.notification_create(recipient=user, kind=NotificationKind.MENTION, params=params, url=url)
            done.add(user.pk)
    if not followers:
        return
    ids = selectors.follower_ids(record) - done
    for user in User.objects.filter(pk__in=ids, is_active=True).select_related("role", "team").order_by("pk"):
        if selectors.sees_record(user, record):  # a follower who lost sight of it hears nothing
            activity_services.notification_create(recipient=user, kind=NotificationKind.COMMENT, params=params, url=url)


def comment_create(*, actor: User, record: Record, body: str) -> Comment:
    """A comment on a customer or deal the actor sees; mentions stored and notified, followers told."""
    if not policies.may_comment(actor):
        raise _forbidden()
    cleaned = _clean_body(body)
    mentioned = _mentioned_users(actor, record, cleaned)
    with transaction.atomic():
        comment = Comment.objects.create(author=actor, body=cleaned, **{selectors.record_kind(record): record})
        Mention.objects.bulk_create([Mention(comment=comment, user=u) for u in mentioned])
        audit.record_created(
            actor=actor,
            obj=comment,
            values={
                "body": cleaned,
                "customer": comment.customer_id,
                "deal": comment.deal_id,
                "mentions": [u.username for u in mentioned],
            },
        )
        _follow_silently(actor, record)
        _notify(actor, record, comment, mentioned, followers=True)
    return comment


def comment_edit(*, actor: User, comment: Comment, body: str) -> Comment:
    """The author rewrites their comment: marked edited; people newly mentioned are notified (once)."""
    if not policies.may_change_comment(actor, comment):
        raise _forbidden() if comment.deleted_at is None else _not_found()
    record = selectors.comment_record(comment)
    cleaned = _clean_body(body)
    mentioned = _mentioned_users(actor, record, cleaned)
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if locked.deleted_at is not None:
            raise _not_found()
        if locked.body == cleaned:
            return locked
        before = audit.snapshot(locked, ["body"])
        locked.body = cleaned
        locked.edited_at = timezone.now()
        locked.save(update_fields=["body", "edited_at"])
        audit.record_changes(actor=actor, obj=locked, before=before, after=audit.snapshot(locked, ["body"]))
        known = set(Mention.objects.filter(comment=locked).values_list("user_id", flat=True))
        wanted = {u.pk for u in mentioned}
        Mention.objects.filter(comment=locked).exclude(user_id__in=wanted).delete()
        new = [u for u in mentioned if u.pk not in known]
        Mention.objects.bulk_create([Mention(comment=locked, user=u) for u in new])
        _notify(actor, record, locked, new, followers=False)
    return locked


def comment_delete(*, actor: User, comment: Comment) -> Comment:
    """Soft delete by the author: the row stays (a placeholder in the thread), the text is hidden."""
    if not policies.may_change_comment(actor, comment):
        raise _forbidden() if comment.deleted_at is None else _not_found()
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if locked.deleted_at is not None:
            return locked
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at"])
        audit.record_deleted(actor=actor, obj=locked, values=audit.snapshot(locked, ["body", "customer", "deal"]))
    return locked


def follow_set(*, actor: User, record: Record, following: bool) -> bool:
    """Follow or unfollow a record the actor sees; returns whether anything changed."""
    if not policies.may_comment(actor):
        raise _forbidden()
    with transaction.atomic():
        if selectors.is_following(user=actor, record=record) == following:
            return False
        updated = Follower.objects.filter(selectors.on_record(record), user=actor).update(active=following)
        if not updated:
            Follower.objects.create(user=actor, active=following, **{selectors.record_kind(record): record})
        audit.record_event(
            actor=actor,
            event="record_followed" if following else "record_unfollowed",
            obj=record,
            details={"user": actor.pk},
        )
    return True
