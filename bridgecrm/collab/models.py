"""Comments on customers and deals, the people they mention, and who follows which record.

A comment belongs to exactly one record: a customer or a deal. It is seen by whoever sees that
record (``Comment.objects.visible_to``). Editing keeps the row (``edited_at``), deleting is soft
(``deleted_at``): the history in the audit trail stays readable.

Following: the record's owner follows it by default; a ``Follower`` row records an explicit
choice (``active`` False is "the owner unfollowed"), so a new owner follows without a write.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

BODY_MAX = 5000
ONE_TARGET = (Q(customer__isnull=False) & Q(deal__isnull=True)) | (Q(customer__isnull=True) & Q(deal__isnull=False))


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible_to(self, actor: object) -> CommentQuerySet:
        """A comment is visible when its customer or its deal is (correlated EXISTS, no IN-list)."""
        from bridgecrm.customers.models import Customer
        from bridgecrm.pipeline.models import Deal

        customers = Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))
        deals = Deal.objects.visible_to(actor).filter(pk=OuterRef("deal_id"))
        return self.filter(Exists(customers) | Exists(deals))

    def alive(self) -> CommentQuerySet:
        return self.filter(deleted_at__isnull=True)


class Comment(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("customer"),
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("deal"),
    )
    author = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="comments", verbose_name=_("author")
    )
    body = models.TextField(_("comment"), max_length=BODY_MAX)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="comment_customer"),
            models.Index(fields=["deal", "-created_at", "-id"], name="comment_deal"),
            models.Index(fields=["-created_at", "-id"], name="comment_created"),
        ]
        constraints = [models.CheckConstraint(condition=ONE_TARGET, name="comment_one_target")]

    def __str__(self) -> str:
        return self.body[:60]


class Mention(models.Model):
    """A user named in a comment (``@username``); notified once, when first mentioned."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="mentions")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        constraints = [models.UniqueConstraint(fields=["comment", "user"], name="mention_once")]
        indexes = [models.Index(fields=["user", "-created_at"], name="mention_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.comment_id}"


class Follower(models.Model):
    """An explicit follow (``active``) or unfollow (not ``active``) of a customer or a deal."""

    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="follows")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="followers"
    )
    deal = models.ForeignKey("pipeline.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="followers")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.CheckConstraint(condition=ONE_TARGET, name="follower_one_target"),
            models.UniqueConstraint(
                fields=["customer", "user"], condition=Q(customer__isnull=False), name="follower_customer_once"
            ),
            models.UniqueConstraint(
                fields=["deal", "user"], condition=Q(deal__isnull=False), name="follower_deal_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.customer_id or self.deal_id}"
