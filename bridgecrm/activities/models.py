"""Follow-ups (what we did with a customer), tasks with reminders, in-app notifications and the
secret address of each user's calendar feed."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.visibility import OwnedQuerySet


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")
    NOTE = "note", _("Note")


class FollowUpOutcome(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    NO_ANSWER = "no_answer", _("No answer")


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def visible_to(self, actor: object) -> FollowUpQuerySet:
        """A follow-up is visible when its customer is (deleted follow-ups never are)."""
        from bridgecrm.customers.models import Customer

        # A correlated EXISTS (see ContactQuerySet): "IN (visible customers)" made SQLite list them all.
        visible = Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))
        return self.filter(Exists(visible), deleted_at__isnull=True)


class FollowUp(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("contact"),
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("deal"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=FollowUpKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.TextField(_("what happened"), max_length=4000)
    outcome = models.CharField(_("outcome"), max_length=10, choices=FollowUpOutcome.choices, blank=True)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    # A visit's check-in: where the rep was (WGS-84) and the address they saw.
    checkin_latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_address = models.CharField(_("check-in address"), max_length=200, blank=True)
    checkin_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    owner = models.ForeignKey("users.User", on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="follow_up_customer"),
            models.Index(fields=["owner", "-occurred_at", "-id"], name="follow_up_owner"),
            models.Index(fields=["deal", "-occurred_at"], name="follow_up_deal"),
            models.Index(fields=["-occurred_at", "-id"], name="follow_up_occurred"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(checkin_latitude__gte=-90) & Q(checkin_latitude__lte=90))
                | Q(checkin_latitude__isnull=True),
                name="follow_up_latitude_range",
            ),
            models.CheckConstraint(
                condition=(Q(checkin_longitude__gte=-180) & Q(checkin_longitude__lte=180))
                | Q(checkin_longitude__isnull=True),
                name="follow_up_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class TaskQuerySet(OwnedQuerySet["Task"]):
    """Tasks are the assignee's: they, their managers (up the team tree) and admins see them."""

    owner_field = "assignee"
    collaborators_field = None
    owner_team_path = "assignee__team__path"


class Task(models.Model):
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    priority = models.CharField(_("priority"), max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    assignee = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="tasks", verbose_name=_("assignee")
    )
    created_by = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, related_name="tasks_created", verbose_name=_("created by")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("customer"),
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks", verbose_name=_("deal")
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="task_assignee_open_due"),
            models.Index(fields=["remind_at"], condition=Q(reminded_at__isnull=True), name="task_reminder_pending"),
            models.Index(fields=["customer", "due_at"], name="task_customer"),
            models.Index(fields=["deal", "due_at"], name="task_deal"),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationKind(models.TextChoices):
    TASK_REMINDER = "task_reminder", _("Task reminder")
    TASK_ASSIGNED = "task_assigned", _("Task assigned")
    FOLLOW_UP_DUE = "follow_up_due", _("Follow-up due")
    DEAL_STALE = "deal_stale", _("Deal going stale")
    PAYMENT_OVERDUE = "payment_overdue", _("Payment overdue")
    SOP_OVERDUE = "sop_overdue", _("Follow-up overdue by the tier's routine")
    POOL_WARNING = "pool_warning", _("Customer about to return to the public pool")
    POOL_RECYCLED = "pool_recycled", _("Customer returned to the public pool")
    POOL_ASSIGNED = "pool_assigned", _("Customer assigned to you")
    MENTION = "mention", _("Mentioned in a comment")
    COMMENT = "comment", _("New comment on a followed record")
    IMPORT_DONE = "import_done", _("Import finished")
    MILESTONE_OVERDUE = "milestone_overdue", _("Sales plan milestone overdue")
    TARGET_SET = "target_set", _("Target set for you")
    EVALUATION_PUBLISHED = "evaluation_ready", _("Evaluation ready to acknowledge")
    STATEMENT_READY = "statement_ready", _("Commission statement ready")
    COACHING_DUE = "coaching_due", _("Coaching check-in due")
    TRAINING_ENROLLED = "training_enrolled", _("Enrolled in a training session")
    OTHER = "other", _("Other")


class Notification(models.Model):
    """An in-app message to one user. ``params`` fill the kind's translated text at display time, so
    a notification reads in the language of whoever opens it."""

    recipient = models.ForeignKey(
        "users.User", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    params = models.JSONField(_("details"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class CalendarFeed(models.Model):
    """The secret address of a user's iCalendar feed: only a SHA-256 of the key is kept; revoking
    sets ``revoked_at`` and a new feed gets a new key."""

    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="calendar_feeds")
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=8)  # shown in settings so the user can tell feeds apart
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="one_live_feed_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.user_id})"
