from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from bridgecrm.activities import selectors as activity_selectors
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Customer
from bridgecrm.users import selectors
from bridgecrm.users.models import Team, User

SEARCH_LIMIT = 20


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    context = {
        "colleague_count": selectors.user_list(actor=actor, active=True).count(),
        "managed_teams": list(Team.objects.visible_to(actor).filter(manager=actor)),
        "recent_entries": list(AuditEntry.objects.for_object(actor).order_by("-at", "-id")[:8]),
        "day": activity_selectors.my_day(actor=actor, limit=10),
    }
    return render(request, "web/home.html", context)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    query = request.GET.get("q", "").strip()[:100]
    users: list[User] = []
    teams: list[Team] = []
    customers: list[Customer] = []
    if query:
        filters = customer_selectors.CustomerFilters(q=query)
        customers = list(customer_selectors.customer_list(actor=actor, filters=filters)[:SEARCH_LIMIT])
        users = list(selectors.user_list(actor=actor, query=query)[:SEARCH_LIMIT])
        teams = list(selectors.team_list(actor=actor, query=query)[:SEARCH_LIMIT])
    return render(
        request, "web/search.html", {"search_query": query, "customers": customers, "users": users, "teams": teams}
    )


def _error(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    body = loader.render_to_string(
        "web/error.html", {"error_code": status, "error_title": title, "error_text": text}, request=None
    )
    return HttpResponse(body, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, _("Page not found"), _("This page does not exist, or you may not see it."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, _("Not allowed"), _("You do not have permission to do this."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, _("Something went wrong"), _("Please try again in a moment."))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    return _error(request, 403, _("Not allowed"), _("Your form expired. Go back, reload the page and try again."))
