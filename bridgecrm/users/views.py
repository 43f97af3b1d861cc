"""Pages for signing in, personal settings, people and teams, and the admin area.

Views parse input, call one service or selector, and render. No business rule lives here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import selectors as audit_selectors
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.users import forms, policies, selectors, services, signin
from bridgecrm.users.capabilities import CAPABILITIES
from bridgecrm.users.models import Role, RolePermission, TeamKind, User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import form_errors as _form_errors
from bridgecrm.users.viewtools import guarded, save_form
from bridgecrm.users.viewtools import int_param as _int
from bridgecrm.users.viewtools import require as _require

PAGE_SIZE = 50


# ---- sign-in -------------------------------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = forms.SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            signin.sign_in(
                request=request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc.message))
            status = exc.status if exc.status == 429 else 200
        else:
            target = request.POST.get("next") or request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = reverse(settings.LOGIN_REDIRECT_URL)
            return HttpResponseRedirect(target)
    return render(request, "users/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    signin.sign_out(request=request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language: remembered on the user when signed in, in a cookie always."""
    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    if language not in dict(settings.LANGUAGES):
        return response
    if isinstance(request.user, User) and request.user.is_authenticated:
        services.user_update_profile(actor=request.user, user=request.user, language=language)
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=settings.LANGUAGE_COOKIE_SECURE,
    )
    return response


class NoLabelSuffix:
    """Django's own auth forms, with labels above fields like every Bridge form."""

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "label_suffix": ""}  # type: ignore[misc]


class PasswordResetView(NoLabelSuffix, auth_views.PasswordResetView):
    template_name = "users/password_reset.html"
    email_template_name = "users/email/password_reset.txt"
    subject_template_name = "users/email/password_reset_subject.txt"
    success_url = reverse_lazy("users:password_reset_done")


class PasswordResetConfirmView(NoLabelSuffix, auth_views.PasswordResetConfirmView):
    template_name = "users/password_reset_confirm.html"
    form_class = forms.AuditedSetPasswordForm
    success_url = reverse_lazy("users:password_reset_complete")


# ---- personal settings ---------------------------------------------------------------------------


@guarded
def settings_profile(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    initial = {f: getattr(actor, f) for f in services.PROFILE_FIELDS}
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and save_form(form, lambda: services.user_update_profile(actor=actor, user=actor, **form.cleaned_data))
        is not None
    ):
        messages.success(request, _("Your profile was saved."))
        return redirect("users:settings_profile")
    return render(request, "users/settings_profile.html", {"form": form, "tab": "profile"})


@guarded
def settings_password(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                actor=actor,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                keep_session_key=request.session.session_key,
            )
        except ApplicationError as exc:
            field = "current_password" if exc.code == "wrong_password" else "new_password"
            form.add_error(field, str(exc.message))
        else:
            update_session_auth_hash(request, actor)
            messages.success(request, _("Your password was changed. Other sessions were signed out."))
            return redirect("users:settings_password")
    return render(request, "users/settings_password.html", {"form": form, "tab": "password"})


@guarded
def settings_tokens(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_use_api(actor))
    form = forms.TokenForm(request.POST or None)
    issued = None
    if (
        request.method == "POST"
        and (issued := save_form(form, lambda: services.token_create(actor=actor, **form.cleaned_data))) is not None
    ):
        form = forms.TokenForm()
    return render(
        request,
        "users/settings_tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": selectors.token_list(actor=actor),
            "tab": "tokens",
            "now": timezone.now(),
        },
    )


@require_POST
@guarded
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    actor = _actor(request)
    token = selectors.token_get(actor=actor, token_id=token_id)
    services.token_revoke(actor=actor, token=token)
    messages.success(request, _("The token was revoked."))
    return redirect("users:settings_tokens")


@guarded
def settings_sessions(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    return render(
        request,
        "users/settings_sessions.html",
        {
            "sessions": selectors.session_list(actor=actor),
            "current_key": request.session.session_key,
            "tab": "sessions",
        },
    )


@require_POST
@guarded
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    count = services.sessions_end_others(actor=_actor(request), keep_session_key=request.session.session_key)
    messages.success(request, _("Signed out of %(count)d other sessions.") % {"count": count})
    return redirect("users:settings_sessions")


# ---- people and teams (as visible) ---------------------------------------------------------------


@guarded
def people(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    query = request.GET.get("q", "").strip()[:100]
    page = _int(request.GET.get("page"), 1)
    qs = selectors.user_list(actor=actor, query=query)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "users/people.html",
        {"users": rows[:PAGE_SIZE], "query": query, "page": page, "has_next": len(rows) > PAGE_SIZE},
    )


@guarded
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = _actor(request)
    person = selectors.user_get(actor=actor, user_id=user_id)
    include_security = audit_selectors.may_see_security_events(actor, person)
    timeline = audit_selectors.audit_timeline(
        visible_obj=person, include_security=include_security, cursor=_cursor(request), limit=_page_size(request)
    )
    return render(
        request,
        "users/person_detail.html",
        {
            "person": person,
            "timeline": timeline,
            "may_manage": policies.may_manage_users(actor),
            "admin_form": forms.UserAdminForm(
                actor=actor,
                initial={"team": person.team_id, "role": person.role_id, "deactivate_at": person.deactivate_at},
            ),
        },
    )


@guarded
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    actor = _actor(request)
    team = selectors.team_get(actor=actor, team_id=team_id)
    members = selectors.user_list(actor=actor, team_id=team.pk)[:200]
    may_manage = policies.may_manage_teams(actor)
    form = forms.TeamForm(
        request.POST or None,
        actor=actor,
        initial={
            "name": team.name,
            "kind": team.kind,
            "parent": team.parent_id,
            "manager": team.manager_id,
            "is_active": team.is_active,
        },
    )
    if request.method == "POST":
        _require(may_manage)
        if save_form(form, lambda: services.team_update(actor=actor, team=team, **form.cleaned_data)) is not None:
            messages.success(request, _("The team was saved."))
            return redirect("users:team_detail", team_id=team.pk)
    timeline = audit_selectors.audit_timeline(visible_obj=team, include_security=False, cursor=_cursor(request))
    return render(
        request,
        "users/team_detail.html",
        {"team": team, "members": members, "form": form, "may_manage": may_manage, "timeline": timeline},
    )


# ---- admin area ----------------------------------------------------------------------------------


@guarded
def manage_users(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_manage_users(actor))
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    active = {"active": True, "inactive": False}.get(status)
    page = _int(request.GET.get("page"), 1)
    qs = selectors.user_list(actor=actor, query=query, active=active)
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "users/manage_users.html",
        {"users": rows[:PAGE_SIZE], "query": query, "status": status, "page": page, "has_next": len(rows) > PAGE_SIZE},
    )


@guarded
def user_invite(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_manage_users(actor))
    form = forms.InviteForm(request.POST or None, actor=actor)
    if (
        request.method == "POST"
        and (user := save_form(form, lambda: services.user_invite(actor=actor, **form.cleaned_data))) is not None
    ):
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
        return redirect("users:person_detail", user_id=user.pk)
    return render(request, "users/user_invite.html", {"form": form})


@require_POST
@guarded
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_manage_users(actor))
    person = selectors.user_get(actor=actor, user_id=user_id)
    form = forms.UserAdminForm(request.POST, actor=actor)
    if form.is_valid():
        services.user_update_admin(actor=actor, user=person, **form.cleaned_data)
        messages.success(request, _("The user was saved."))
    else:
        messages.error(request, _("Please correct the errors below."))
    return redirect("users:person_detail", user_id=person.pk)


def _person_action(
    request: HttpRequest, user_id: int, action: Callable[..., Any], success: Callable[[User], str]
) -> HttpResponse:
    """Run one admin action on a visible person, then back to their page with a message."""
    actor = _actor(request)
    person = selectors.user_get(actor=actor, user_id=user_id)
    try:
        action(actor=actor, user=person)
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success(person))
    return redirect("users:person_detail", user_id=person.pk)


@require_POST
@guarded
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _person_action(
        request,
        user_id,
        services.user_deactivate,
        lambda p: _("%(name)s was deactivated and signed out everywhere.") % {"name": p},
    )


@require_POST
@guarded
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _person_action(
        request, user_id, services.user_reactivate, lambda p: _("%(name)s was reactivated.") % {"name": p}
    )


@require_POST
@guarded
def user_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    return _person_action(
        request,
        user_id,
        services.user_send_reset,
        lambda p: _("A password reset link was e-mailed to %(name)s.") % {"name": p},
    )


@guarded
def manage_teams(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_manage_teams(actor))
    form = forms.TeamForm(request.POST or None, actor=actor, initial={"is_active": True, "kind": TeamKind.TEAM})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("is_active", None)
        try:
            team = services.team_create(actor=actor, **data)
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The team was created."))
            return redirect("users:team_detail", team_id=team.pk)
    teams = selectors.team_list(actor=actor)
    return render(request, "users/manage_teams.html", {"teams": teams, "form": form})


@guarded
def manage_roles(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_manage_roles(actor))
    roles = list(Role.objects.order_by("id"))
    create_form = forms.RoleCreateForm(request.POST if request.POST.get("action") == "create" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create":
                if create_form.is_valid():
                    services.role_create(actor=actor, **create_form.cleaned_data)
                    messages.success(request, _("The role was created."))
                    return redirect("users:manage_roles")
            else:
                for role in roles:
                    wanted = request.POST.getlist(f"role-{role.pk}")
                    services.role_set_capabilities(actor=actor, role=role, capabilities=wanted)
                messages.success(request, _("Roles were saved."))
                return redirect("users:manage_roles")
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
    grants = set(RolePermission.objects.values_list("role_id", "capability"))
    matrix = [
        {"capability": c, "cells": [{"role": r, "on": (r.pk, c.code) in grants} for r in roles]} for c in CAPABILITIES
    ]
    history = audit_selectors.model_history(model=Role, cursor=_cursor(request))
    return render(
        request,
        "users/manage_roles.html",
        {"roles": roles, "matrix": matrix, "create_form": create_form, "history": history},
    )


@guarded
def audit_search(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require(policies.may_search_audit(actor))
    form = forms.AuditSearchForm(request.GET or None, actor=actor, object_types=audit_selectors.audited_object_types())
    page = None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        tz = timezone.get_current_timezone()

        def day(value: dt.date | None, plus: int = 0) -> dt.datetime | None:
            return dt.datetime.combine(value + dt.timedelta(days=plus), dt.time(), tzinfo=tz) if value else None

        filters = audit_selectors.AuditFilters(
            user_id=data.get("user"),
            content_type_id=int(data["object_type"]) if data.get("object_type") else None,
            object_id=data.get("object_id", ""),
            field=data.get("field", ""),
            date_from=day(data.get("date_from")),
            date_to=day(data.get("date_to"), 1),
        )
        page = audit_selectors.audit_search(
            actor=actor, filters=filters, cursor=_cursor(request), limit=_page_size(request)
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "users/audit_search.html", {"form": form, "page": page, "query": query.urlencode()})


def _page_size(request: HttpRequest, default: int = PAGE_SIZE) -> int:
    """``?size=`` for the audit pages, clamped to 10..100."""
    try:
        size = int(request.GET.get("size") or default)
    except ValueError:
        return default
    return max(10, min(size, audit_selectors.MAX_PAGE))


def _cursor(request: HttpRequest) -> audit_selectors.Cursor | None:
    raw = request.GET.get("after", "")
    return audit_selectors.Cursor.decode(raw) if raw else None
