"""Users, the team tree, roles as data, personal API tokens, sessions and sign-in throttles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.visibility import Scope, scope_of, subtree_filter

DEFAULT_TIME_ZONE = "Asia/Shanghai"


class TeamKind(models.TextChoices):
    COMPANY = "company", _("Company")
    REGION = "region", _("Region")
    TEAM = "team", _("Team")


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, actor: object) -> TeamQuerySet:
        """Admins see every team; others see their own team, its ancestors and what they manage."""
        scope = scope_of(actor)
        if scope is None:
            return self.none()
        if scope.sees_all:
            return self.all()
        own_path = getattr(getattr(actor, "team", None), "path", "") or ""
        ancestors = [p + "." for p in _prefixes(own_path)]
        condition = Q(path__in=ancestors) | subtree_filter("path", scope.managed_team_paths)
        return self.filter(condition)


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split(".") if p]
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


class Team(models.Model):
    """A node of the company → region → team tree. ``path`` is materialised ("1.4.9.")."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=TeamKind.choices, default=TeamKind.TEAM)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    manager = models.ForeignKey(
        "users.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count(".") - 1


class Role(models.Model):
    """A role is a row; its capabilities are rows of ``RolePermission``."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    is_system = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        lang = translation.get_language() or "en"
        return self.name_zh if lang.lower().startswith("zh") and self.name_zh else self.name_en


class RolePermission(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="grants")
    capability = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "capability"], name="role_capability_once")]

    def __str__(self) -> str:
        return f"{self.role.code}: {self.capability}"


class UserQuerySet(models.QuerySet["User"]):
    def visible_to(self, actor: object) -> UserQuerySet:
        """Admins see everyone; managers their subtree; everyone themselves and their own team."""
        scope = scope_of(actor)
        if scope is None:
            return self.none()
        if scope.sees_all:
            return self.all()
        condition = Q(pk=scope.user_id) | subtree_filter("team__path", scope.managed_team_paths)
        team_id = getattr(actor, "team_id", None)
        if team_id is not None:
            condition |= Q(team_id=team_id)
        return self.filter(condition)


class BridgeUserManager(UserManager["User"]):
    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def visible_to(self, actor: object) -> UserQuerySet:
        return self.get_queryset().visible_to(actor)


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("team")
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("role"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=DEFAULT_TIME_ZONE)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    deactivate_at = models.DateTimeField(_("deactivate on"), null=True, blank=True)

    objects: ClassVar[BridgeUserManager] = BridgeUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def capabilities(self) -> frozenset[str]:
        cached: frozenset[str] | None = getattr(self, "_capabilities", None)
        if cached is None:
            if not self.is_active or self.role_id is None:
                cached = frozenset()
            else:
                cached = frozenset(
                    RolePermission.objects.filter(role_id=self.role_id).values_list("capability", flat=True)
                )
            self._capabilities = cached
        return cached

    def can(self, capability: str) -> bool:
        return capability in self.capabilities()

    def visibility_scope(self) -> Scope:
        cached: Scope | None = getattr(self, "_scope", None)
        if cached is None:
            from bridgecrm.users.capabilities import VIEW_ALL_RECORDS, VIEW_TEAM_RECORDS

            caps = self.capabilities()
            paths: tuple[str, ...] = ()
            if VIEW_TEAM_RECORDS in caps:
                paths = tuple(Team.objects.filter(manager_id=self.pk, is_active=True).values_list("path", flat=True))
            cached = Scope(user_id=self.pk, sees_all=VIEW_ALL_RECORDS in caps, managed_team_paths=paths)
            self._scope = cached
        return cached

    def forget_cached_permissions(self) -> None:
        for attr in ("_capabilities", "_scope"):
            self.__dict__.pop(attr, None)


class ApiToken(models.Model):
    """A personal access token. Only its SHA-256 hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(_("read-only"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class UserSession(AbstractBaseSession):
    """Server-side session, linked to its user so that sessions can be listed and ended."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="sessions")
    ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls) -> Any:
        from bridgecrm.users.session_store import SessionStore

        return SessionStore


class LoginThrottle(models.Model):
    """Failed sign-in attempts for one key (an account name or an IP) in a fixed window."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
