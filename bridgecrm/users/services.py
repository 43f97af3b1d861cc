"""The one write path for users, teams, roles, tokens and sessions. Every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.users import policies
from bridgecrm.users.capabilities import CAPABILITY_CODES
from bridgecrm.users.models import ApiToken, Role, RolePermission, Team, TeamKind, User, UserSession

USER_AUDITED_FIELDS = (
    "username",
    "email",
    "full_name",
    "team",
    "role",
    "is_active",
    "language",
    "time_zone",
    "phone",
    "deactivate_at",
)
TEAM_AUDITED_FIELDS = ("name", "kind", "parent", "manager", "is_active")
PROFILE_FIELDS = ("full_name", "email", "phone", "language", "time_zone")
LANGUAGE_CODES = {code for code, _label in settings.LANGUAGES}
TOKEN_PREFIX = "brg_"


def _validation_error(exc: ValidationError, field: str) -> ApplicationError:
    return ApplicationError("invalid", " ".join(str(m) for m in exc.messages), details={field: exc.messages})


def _check_time_zone(name: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError(
            "invalid_time_zone", gettext_lazy("Unknown time zone."), details={"time_zone": [name]}
        ) from exc


# ---- users ---------------------------------------------------------------------------------------


def user_create(
    *,
    actor: User | None,
    username: str,
    email: str = "",
    full_name: str = "",
    team: Team | None = None,
    role: Role | None = None,
    password: str | None = None,
    language: str = "",
    time_zone: str = "",
) -> User:
    """Create a user. ``actor`` None means the system (the first admin, the demo company)."""
    if actor is not None:
        policies.require(actor, policies.may_manage_users(actor))
    username = username.strip()
    if not username:
        raise ApplicationError("invalid", gettext_lazy("A user name is required."), details={"username": ["required"]})
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(
            "username_taken", gettext_lazy("This user name is already taken."), details={"username": [username]}
        )
    user = User(
        username=username,
        email=email.strip(),
        full_name=full_name.strip(),
        team=team,
        role=role,
        language=language,
        time_zone=time_zone or settings.BRIDGE_DEFAULT_TIME_ZONE,
    )
    _check_time_zone(user.time_zone)
    if password is not None:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise _validation_error(exc, "password") from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        audit.record_created(actor=actor, obj=user, values=audit.snapshot(user, USER_AUDITED_FIELDS))
    return user


def user_invite(
    *, actor: User, username: str, email: str, full_name: str = "", team: Team | None = None, role: Role | None = None
) -> User:
    """Create a user without a password and e-mail them a link to choose one."""
    if not email:
        raise ApplicationError(
            "invalid", gettext_lazy("An e-mail address is needed to invite."), details={"email": ["required"]}
        )
    user = user_create(actor=actor, username=username, email=email, full_name=full_name, team=team, role=role)
    transaction.on_commit(lambda: send_set_password_email(user=user, invitation=True))
    return user


def user_update_profile(*, actor: User, user: User, **changes: Any) -> User:
    """Change a user's own profile fields (self, or an admin for anyone)."""
    policies.require(actor, policies.may_edit_profile(actor, user))
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ApplicationError("invalid", gettext_lazy("Unknown fields."), details={f: ["unknown"] for f in unknown})
    if "language" in changes and changes["language"] and changes["language"] not in LANGUAGE_CODES:
        raise ApplicationError(
            "invalid_language", gettext_lazy("Unknown language."), details={"language": [changes["language"]]}
        )
    if "time_zone" in changes:
        _check_time_zone(changes["time_zone"])
    if changes.get("email"):
        from django.core.validators import validate_email

        try:
            validate_email(changes["email"])
        except ValidationError as exc:
            raise _validation_error(exc, "email") from exc
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = audit.snapshot(user, PROFILE_FIELDS)
        for name, value in changes.items():
            setattr(user, name, value.strip() if isinstance(value, str) else value)
        user.save(update_fields=list(changes) or None)
        audit.record_changes(actor=actor, obj=user, before=before, after=audit.snapshot(user, PROFILE_FIELDS))
    return user


def user_update_admin(
    *, actor: User, user: User, team: Team | None, role: Role | None, deactivate_at: dt.datetime | None = None
) -> User:
    """An admin moves a user to a team, gives them a role, or schedules their deactivation."""
    policies.require(actor, policies.may_manage_users(actor))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        fields = ("team", "role", "deactivate_at")
        before = audit.snapshot(user, fields)
        user.team, user.role, user.deactivate_at = team, role, deactivate_at
        user.save(update_fields=["team", "role", "deactivate_at"])
        after = audit.snapshot(user, fields)
        audit.record_changes(actor=actor, obj=user, before=before, after=after)
        if before["role"] != after["role"]:
            audit.record_event(
                actor=actor,
                event="role_changed",
                obj=user,
                field="role",
                old_value=before["role"],
                new_value=after["role"],
            )
            _end_sessions(user)  # new permissions take effect at the next sign-in
    user.forget_cached_permissions()
    return user


def _end_sessions(user: User, *, keep_session_key: str | None = None) -> int:
    sessions = UserSession.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    deleted, _rows = sessions.delete()
    return deleted


def user_deactivate(*, actor: User | None, user: User) -> User:
    """Deactivate at once: sign-in refused, every session and token ended."""
    if actor is not None:
        policies.require(actor, policies.may_manage_users(actor))
        if actor.pk == user.pk:
            raise ApplicationError("cannot_deactivate_self", gettext_lazy("You cannot deactivate yourself."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            return user
        before = audit.snapshot(user, ("is_active",))
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record_changes(actor=actor, obj=user, before=before, after=audit.snapshot(user, ("is_active",)))
        _end_sessions(user)
        now = timezone.now()
        for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
            audit.record_event(actor=actor, event="token_revoked", obj=user, details={"token": token.prefix})
    return user


def user_reactivate(*, actor: User, user: User) -> User:
    policies.require(actor, policies.may_manage_users(actor))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        fields = ("is_active", "deactivate_at")
        before = audit.snapshot(user, fields)
        user.is_active = True
        if user.deactivate_at is not None and user.deactivate_at <= timezone.now():
            user.deactivate_at = None  # else the scheduler would deactivate them again
        user.save(update_fields=list(fields))
        audit.record_changes(actor=actor, obj=user, before=before, after=audit.snapshot(user, fields))
    return user


def users_deactivate_due(*, now: dt.datetime | None = None) -> list[int]:
    """Deactivate users whose scheduled ``deactivate_at`` has passed (run by the scheduler)."""
    now = now or timezone.now()
    done = []
    for user in User.objects.filter(is_active=True, deactivate_at__lte=now):
        user_deactivate(actor=None, user=user)
        done.append(user.pk)
    return done


def send_set_password_email(*, user: User, invitation: bool = False) -> None:
    """E-mail a single-use, expiring link to choose a password (invitation or reset)."""
    if not user.email or not user.is_active:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse("users:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = _("You are invited to Bridge") if invitation else _("Reset your Bridge password")
        body = render_to_string("users/email/set_password.txt", {"user": user, "link": link, "invitation": invitation})
    send_mail(str(subject), body, None, [user.email])


def user_send_reset(*, actor: User, user: User) -> None:
    """An admin sends a user a password-reset link."""
    policies.require(actor, policies.may_manage_users(actor))
    audit.record_event(actor=actor, event="password_reset_sent", obj=user)
    transaction.on_commit(lambda: send_set_password_email(user=user))


def user_change_password(
    *, actor: User, current_password: str, new_password: str, keep_session_key: str | None = None
) -> None:
    if not actor.check_password(current_password):
        raise ApplicationError(
            "wrong_password",
            gettext_lazy("Your current password was entered incorrectly."),
            details={"current_password": ["wrong"]},
        )
    user_set_password(actor=actor, user=actor, password=new_password, keep_session_key=keep_session_key)


def user_set_password(*, actor: User | None, user: User, password: str, keep_session_key: str | None = None) -> None:
    """Set a password (after validation) and end the user's other sessions."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise _validation_error(exc, "password") from exc
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record_event(actor=actor or user, event="password_changed", obj=user)
        _end_sessions(user, keep_session_key=keep_session_key)


def sessions_end_others(*, actor: User, keep_session_key: str | None) -> int:
    with transaction.atomic():
        count = _end_sessions(actor, keep_session_key=keep_session_key)
        audit.record_event(actor=actor, event="sessions_ended", obj=actor, details={"count": count})
    return count


def session_end(*, actor: User, session_key: str) -> None:
    deleted, _rows = UserSession.objects.filter(user=actor, session_key=session_key).delete()
    if not deleted:
        raise NotFound("not_found", gettext_lazy("Not found."))
    audit.record_event(actor=actor, event="sessions_ended", obj=actor, details={"count": deleted})


# ---- teams ---------------------------------------------------------------------------------------


def _team_path(team: Team) -> str:
    return (team.parent.path if team.parent else "") + f"{team.pk}."


def _check_parent(team: Team | None, parent: Team | None) -> None:
    if parent is None or team is None or team.pk is None:
        return
    if parent.pk == team.pk or parent.path.startswith(team.path):
        raise ApplicationError(
            "team_cycle",
            gettext_lazy("A team cannot be placed under itself or its own sub-team."),
            details={"parent": [parent.pk]},
        )


def team_create(
    *, actor: User | None, name: str, kind: str = TeamKind.TEAM, parent: Team | None = None, manager: User | None = None
) -> Team:
    if actor is not None:
        policies.require(actor, policies.may_manage_teams(actor))
    if not name.strip():
        raise ApplicationError("invalid", gettext_lazy("A name is required."), details={"name": ["required"]})
    with transaction.atomic():
        team = Team.objects.create(name=name.strip(), kind=kind, parent=parent, manager=manager)
        team.path = _team_path(team)
        team.save(update_fields=["path"])
        audit.record_created(actor=actor, obj=team, values=audit.snapshot(team, TEAM_AUDITED_FIELDS))
    return team


def team_update(
    *, actor: User, team: Team, name: str, kind: str, parent: Team | None, manager: User | None, is_active: bool = True
) -> Team:
    """Rename, re-parent (moving its whole subtree) or change the manager of a team."""
    policies.require(actor, policies.may_manage_teams(actor))
    if not name.strip():
        raise ApplicationError("invalid", gettext_lazy("A name is required."), details={"name": ["required"]})
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if parent is not None:
            parent = Team.objects.get(pk=parent.pk)
        _check_parent(team, parent)
        before = audit.snapshot(team, TEAM_AUDITED_FIELDS)
        old_path = team.path
        team.name, team.kind, team.parent, team.manager, team.is_active = name.strip(), kind, parent, manager, is_active
        team.path = _team_path(team)
        team.save()
        if team.path != old_path:
            for child in Team.objects.filter(path__startswith=old_path).exclude(pk=team.pk):
                child.path = team.path + child.path[len(old_path) :]
                child.save(update_fields=["path"])
        audit.record_changes(actor=actor, obj=team, before=before, after=audit.snapshot(team, TEAM_AUDITED_FIELDS))
    return team


# ---- roles ---------------------------------------------------------------------------------------


def role_create(*, actor: User, code: str, name_en: str, name_zh: str) -> Role:
    policies.require(actor, policies.may_manage_roles(actor))
    from django.utils.text import slugify

    code = slugify(code)
    if not code or Role.objects.filter(code=code).exists():
        raise ApplicationError(
            "invalid", gettext_lazy("This role code is empty or already used."), details={"code": [code]}
        )
    with transaction.atomic():
        role = Role.objects.create(code=code, name_en=name_en.strip() or code, name_zh=name_zh.strip() or code)
        audit.record_created(actor=actor, obj=role, values=audit.snapshot(role, ("code", "name_en", "name_zh")))
    return role


def role_set_capabilities(*, actor: User, role: Role, capabilities: Iterable[str]) -> Role:
    """Replace a role's capabilities. An admin cannot remove role management from their own role."""
    policies.require(actor, policies.may_manage_roles(actor))
    wanted = set(capabilities)
    unknown = wanted - CAPABILITY_CODES
    if unknown:
        raise ApplicationError(
            "invalid", gettext_lazy("Unknown capability."), details={"capabilities": sorted(unknown)}
        )
    if actor.role_id == role.pk and "roles.manage" not in wanted:
        raise ApplicationError("lockout", gettext_lazy("You cannot remove role management from your own role."))
    with transaction.atomic():
        current = set(RolePermission.objects.filter(role=role).values_list("capability", flat=True))
        if current == wanted:
            return role
        RolePermission.objects.filter(role=role, capability__in=current - wanted).delete()
        RolePermission.objects.bulk_create([RolePermission(role=role, capability=c) for c in sorted(wanted - current)])
        audit.record_changes(
            actor=actor, obj=role, before={"capabilities": sorted(current)}, after={"capabilities": sorted(wanted)}
        )
        audit.record_event(
            actor=actor,
            event="role_changed",
            obj=role,
            field="capabilities",
            old_value=sorted(current),
            new_value=sorted(wanted),
        )
        # Everyone holding the role signs in again to pick up the change.
        UserSession.objects.filter(user__role=role).exclude(user=actor).delete()
    return role


# ---- API tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, actor: User, name: str, read_only: bool = False, expires_in_days: int | None = None, user: User | None = None
) -> IssuedToken:
    """Make a personal access token for ``user`` (default: the actor)."""
    user = user or actor
    policies.require(actor, policies.may_create_token(actor, user))
    if not name.strip():
        raise ApplicationError("invalid", gettext_lazy("A name is required."), details={"name": ["required"]})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ApplicationError(
            "invalid",
            gettext_lazy("Expiry must be between 1 and 3650 days."),
            details={"expires_in_days": [expires_in_days]},
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=secret[:10],
            token_hash=hash_token(secret),
            read_only=read_only,
            expires_at=expires_at,
        )
        audit.record_event(
            actor=actor,
            event="token_created",
            obj=user,
            details={"token": token.prefix, "name": token.name, "read_only": read_only, "expires_at": expires_at},
        )
    return IssuedToken(token=token, secret=secret)


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and not policies.may_manage_users(actor):
        raise NotFound("not_found", gettext_lazy("Not found."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record_event(actor=actor, event="token_revoked", obj=token.user, details={"token": token.prefix})
    return token


def token_authenticate(secret: str) -> tuple[User, ApiToken] | None:
    """The active user and usable token for a presented secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(secret)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


def throttles_prune(*, now: dt.datetime | None = None) -> int:
    """Delete sign-in counters whose window has ended (housekeeping; locks expire without it)."""
    from bridgecrm.users.models import LoginThrottle

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.BRIDGE_LOGIN_WINDOW_SECONDS)
    deleted, _rows = LoginThrottle.objects.filter(window_start__lte=cutoff).delete()
    return deleted
