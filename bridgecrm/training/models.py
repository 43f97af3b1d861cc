"""Training (培训) and coaching (辅导).

A ``TrainingCourse`` is what is taught (a product or a skill); a ``TrainingSession`` is one time it
is given, by a trainer, on a date. ``Enrollment`` records who was enrolled, whether they attended,
their assessment score and whether they completed it: completion feeds the scorecards and the
promotion criteria.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CourseKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SKILL = "skill", _("Skill")
    COMPLIANCE = "compliance", pgettext_lazy("course kind", "Compliance")  # not the SOP's "compliance"
    OTHER = "other", _("Other")


class TrainingCourse(models.Model):
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=CourseKind.choices, default=CourseKind.SKILL)
    product = models.ForeignKey(
        "pipeline.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.TextField(_("description"), blank=True)
    pass_score = models.DecimalField(
        _("pass score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty when attending is enough to complete the course."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("training course")
        verbose_name_plural = _("training courses")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TrainingSession(models.Model):
    course = models.ForeignKey(
        TrainingCourse, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("course")
    )
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trainer"),
    )
    trainer_name = models.CharField(_("outside trainer"), max_length=120, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_open = models.BooleanField(
        _("open to everyone"),
        default=True,
        help_text=_("Open sessions are listed for every rep, not only those enrolled."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at"], name="training_session_starts")]

    def __str__(self) -> str:
        return f"{self.course} {self.starts_at:%Y-%m-%d}"


class Enrollment(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_enrollments")
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    score = models.DecimalField(_("assessment score"), max_digits=5, decimal_places=2, null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("enrolled"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="enrollment_once_per_session")]
        indexes = [models.Index(fields=["user", "completed_at"], name="enrollment_user_completed")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.session_id}"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class TrainingMaterial(models.Model):
    """A session's material: an uploaded file (kept in the default storage) or a link."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="materials", verbose_name=_("session")
    )
    title = models.CharField(_("title"), max_length=200)
    link = models.URLField(_("link"), max_length=500, blank=True)
    file = models.FileField(_("file"), upload_to="training/%Y/%m/", max_length=200, blank=True)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("training material")
        verbose_name_plural = _("training materials")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class CoachingStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")


class CoachingPlan(models.Model):
    """A coach's plan for one rep: goals, the KPIs it watches and when they next meet."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_plans", verbose_name=_("rep")
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coaching_given", verbose_name=_("coach")
    )
    title = models.CharField(_("title"), max_length=200)
    goals = models.TextField(_("goals"), blank=True)
    kpis = models.JSONField(_("linked KPIs"), default=list, blank=True)  # [{"code": "...", "label": "..."}]
    kpi_note = models.TextField(_("KPI note"), blank=True)
    next_check_in = models.DateField(_("next check-in"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=CoachingStatus.choices, default=CoachingStatus.ACTIVE)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("coaching plan")
        verbose_name_plural = _("coaching plans")
        ordering = ["next_check_in", "id"]
        indexes = [models.Index(fields=["status", "next_check_in"], name="coaching_due")]

    def __str__(self) -> str:
        return self.title


class CoachingCheckIn(models.Model):
    """One meeting of a coaching plan. ``note`` is shared with the rep; ``private_note`` is the coach's own."""

    plan = models.ForeignKey(CoachingPlan, on_delete=models.CASCADE, related_name="check_ins")
    held_on = models.DateField(_("date"))
    note = models.TextField(_("note"))
    private_note = models.TextField(_("private note (coach and managers only)"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.plan_id} @ {self.held_on}"


class CoachingReminder(models.Model):
    """Claims one COACHING_DUE notice per plan and due date, so the daily run never sends it twice."""

    plan = models.ForeignKey(CoachingPlan, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "due_on"], name="coaching_reminder_once")]

    def __str__(self) -> str:
        return f"{self.plan_id} @ {self.due_on}"


class ArticleKind(models.TextChoices):
    SUCCESS_STORY = "story", _("Success story")
    PLAYBOOK = "playbook", _("Playbook")
    OBJECTION = "objection", _("Objection handling")
    # A market research note (市场调研): what a rep learned about a market, a competitor or prices;
    # the scorecard metric "market research notes submitted" counts them per author.
    MARKET_RESEARCH = "market", _("Market research")


class Article(models.Model):
    """A know-how library article. ``tags`` is stored as ``",tag one,tag two,"`` so a tag filter is
    one portable ``contains`` lookup; ``tag_list`` gives the list."""

    kind = models.CharField(_("kind"), max_length=16, choices=ArticleKind.choices, default=ArticleKind.PLAYBOOK)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    tags = models.CharField(_("tags"), max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("author")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    deal = models.ForeignKey(
        "pipeline.Deal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("deal")
    )
    product = models.ForeignKey(
        "pipeline.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["-updated_at", "-id"], name="article_recent")]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]
