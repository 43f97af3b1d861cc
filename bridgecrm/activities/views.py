"""Pages for follow-ups, tasks, "my day", the calendar, notifications and the calendar feed.
Views parse input, call one service or selector, and render."""

from __future__ import annotations

import calendar as calendar_module
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bridgecrm.activities import forms, ical, policies, selectors, services
from bridgecrm.activities.models import CalendarFeed, NotificationKind
from bridgecrm.core import dates, exports
from bridgecrm.core.errors import NotFound, PermissionDenied
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of as _actor
from bridgecrm.users.viewtools import export_response, guarded, save_form
from bridgecrm.users.viewtools import int_param as _int

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_LIMIT = 50_000


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _page(request: HttpRequest, qs: Any) -> dict[str, Any]:
    page = _int(request.GET.get("page"), 1)
    size = _int(request.GET.get("per_page"), PAGE_SIZE, low=10, high=MAX_PAGE_SIZE)
    rows = list(qs[(page - 1) * size : page * size + 1])
    return {"rows": rows[:size], "page": page, "has_next": len(rows) > size, "query": _query_without(request, "page")}


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


def _local(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# ---- my day ----------------------------------------------------------------------------------------


@guarded
def my_day(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    return render(request, "activities/my_day.html", {"day": selectors.my_day(actor=actor)})


# ---- follow-ups ------------------------------------------------------------------------------------


def _follow_up_filters(request: HttpRequest, actor: User) -> tuple[forms.FollowUpFilterForm, selectors.FollowUpFilters]:
    form = forms.FollowUpFilterForm(request.GET, actor=actor)
    return form, form.filters() if form.is_valid() else selectors.FollowUpFilters()


@guarded
def follow_ups(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _follow_up_filters(request, actor)
    context = _page(request, selectors.follow_up_list(actor=actor, filters=filters))
    customer = None
    if filters.customer_id is not None:
        customer = Customer.objects.visible_to(actor).filter(pk=filters.customer_id).only("pk", "name").first()
    context.update(form=form, follow_ups=context.pop("rows"), filter_customer=customer)
    return render(request, "activities/follow_up_list.html", context)


FOLLOW_UP_HEADER = (
    "id",
    "occurred_at",
    "kind",
    "customer",
    "contact",
    "deal",
    "summary",
    "outcome",
    "next_follow_up_on",
    "by",
    "checkin_latitude",
    "checkin_longitude",
    "checkin_address",
)


def _follow_up_rows(qs: Any) -> Iterator[Sequence[exports.Cell]]:
    for fu in qs[:EXPORT_LIMIT].iterator(chunk_size=1000):
        yield (
            fu.pk,
            _local(fu.occurred_at),
            fu.get_kind_display(),
            fu.customer.name,
            fu.contact.name if fu.contact else "",
            fu.deal.name if fu.deal and fu.deal_visible else "",
            fu.summary,
            fu.get_outcome_display(),
            fu.next_follow_up_on,
            fu.owner.display_name,
            fu.checkin_latitude,
            fu.checkin_longitude,
            fu.checkin_address,
        )


def _export(request: HttpRequest, name: str, header: Sequence[str], rows: Iterator[Sequence[exports.Cell]]) -> Any:
    return export_response(request, name=name, header=header, rows=rows)


@require_GET
@guarded
def follow_ups_export(request: HttpRequest) -> Any:
    actor = _actor(request)
    _form, filters = _follow_up_filters(request, actor)
    qs = selectors.follow_up_list(actor=actor, filters=filters)
    return _export(request, "follow-ups", FOLLOW_UP_HEADER, _follow_up_rows(qs))


def _visible_customer(actor: User, raw: str | None) -> Customer | None:
    """The customer named by a query parameter: None when none is given, 404 when unseen."""
    if not raw:
        return None
    try:
        customer_id = int(raw)
    except ValueError as exc:
        raise _not_found() from exc
    return customer_selectors.customer_get(actor=actor, customer_id=customer_id)


def _require_visible_deal(actor: User, raw: str | None) -> None:
    """A deal id the actor may not see is a 404 (as for the customer), not a form error."""
    if not raw:
        return
    try:
        deal_id = int(raw)
    except ValueError:
        return  # the form says it is not a valid choice
    if not 0 < deal_id < 2**63 or not Deal.objects.visible_to(actor).filter(pk=deal_id).exists():
        raise _not_found()


def _follow_up_values(form: forms.FollowUpForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("version", None)
    return data


@guarded
def follow_up_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    customer = _visible_customer(actor, request.GET.get("customer"))
    if customer is None:
        query = request.GET.get("q", "").strip()[:100]
        found: list[Customer] = []
        if query:
            filters = customer_selectors.CustomerFilters(q=query)
            found = list(customer_selectors.customer_list(actor=actor, filters=filters)[:20])
        return render(request, "activities/customer_pick.html", {"q": query, "customers": found})
    _require_visible_deal(actor, request.POST.get("deal"))
    form = forms.FollowUpForm(
        request.POST or None,
        actor=actor,
        customer=customer,
        initial={"occurred_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    if (
        request.method == "POST"
        and save_form(form, lambda: services.follow_up_log(actor=actor, customer=customer, **_follow_up_values(form)))
        is not None
    ):
        messages.success(request, _("The follow-up was logged."))
        return redirect(_next_url(request, reverse("customers:detail", kwargs={"customer_id": customer.pk})))
    return render(request, "activities/follow_up_form.html", {"form": form, "customer": customer, "follow_up": None})


@guarded
def follow_up_edit(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    actor = _actor(request)
    follow_up = selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id)
    may_change = policies.may_change_follow_up(actor, follow_up)
    initial = {name: getattr(follow_up, name) for name in services.FOLLOW_UP_EDITABLE}
    initial.update(
        occurred_at=timezone.localtime(follow_up.occurred_at),
        checkin_at=timezone.localtime(follow_up.checkin_at) if follow_up.checkin_at else None,
        version=follow_up.version,
    )
    form = forms.FollowUpForm(request.POST or None, actor=actor, customer=follow_up.customer, initial=initial)
    if request.method == "POST":
        _require_visible_deal(actor, request.POST.get("deal"))
        if not may_change:
            raise PermissionDenied("forbidden", _("You do not have permission to do this."))
        if (
            save_form(
                form,
                lambda: services.follow_up_update(
                    actor=actor,
                    follow_up=follow_up,
                    version=form.cleaned_data.get("version"),
                    **_follow_up_values(form),
                ),
            )
            is not None
        ):
            messages.success(request, _("The follow-up was saved."))
            return redirect("customers:detail", customer_id=follow_up.customer_id)
    return render(
        request,
        "activities/follow_up_form.html",
        {"form": form, "customer": follow_up.customer, "follow_up": follow_up, "may_change": may_change},
    )


@require_POST
@guarded
def follow_up_delete(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    actor = _actor(request)
    follow_up = selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id)
    services.follow_up_delete(actor=actor, follow_up=follow_up)
    messages.success(request, _("The follow-up was deleted."))
    return redirect("customers:detail", customer_id=follow_up.customer_id)


# ---- tasks -----------------------------------------------------------------------------------------


def _task_filters(request: HttpRequest, actor: User) -> tuple[forms.TaskFilterForm, selectors.TaskFilters]:
    form = forms.TaskFilterForm(request.GET, actor=actor)
    return form, form.filters() if form.is_valid() else selectors.TaskFilters(done=False)


@guarded
def tasks(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, filters = _task_filters(request, actor)
    context = _page(request, selectors.task_list(actor=actor, filters=filters))
    context.update(form=form, tasks=context.pop("rows"), now=timezone.now())
    return render(request, "activities/task_list.html", context)


TASK_HEADER = ("id", "title", "due_at", "remind_at", "priority", "assignee", "customer", "deal", "done_at", "notes")


def _task_rows(qs: Any) -> Iterator[Sequence[exports.Cell]]:
    for task in qs[:EXPORT_LIMIT].iterator(chunk_size=1000):
        yield (
            task.pk,
            task.title,
            _local(task.due_at),
            _local(task.remind_at),
            task.get_priority_display(),
            task.assignee.display_name,
            task.customer.name if task.customer else "",
            task.deal.name if task.deal and task.deal_visible else "",
            _local(task.done_at),
            task.notes,
        )


@require_GET
@guarded
def tasks_export(request: HttpRequest) -> Any:
    actor = _actor(request)
    _form, filters = _task_filters(request, actor)
    return _export(request, "tasks", TASK_HEADER, _task_rows(selectors.task_list(actor=actor, filters=filters)))


def _task_refs(actor: User, form: forms.TaskForm) -> dict[str, Any]:
    """The form's ids → objects the actor sees; an unseen customer or deal is a 404, nothing written."""
    data = dict(form.cleaned_data)
    data.pop("version", None)
    data["assignee"] = form.people.get(data["assignee"]) if data.get("assignee") else None
    customer_id, deal_id = data.pop("customer", None), data.pop("deal", None)
    data["customer"] = _visible_customer(actor, str(customer_id) if customer_id else None)
    data["deal"] = None
    if deal_id:
        deal = Deal.objects.visible_to(actor).filter(pk=deal_id).first()
        if deal is None:
            raise _not_found()
        data["deal"] = deal
    return data


@guarded
def task_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    source = request.POST if request.method == "POST" else request.GET
    customer = _visible_customer(actor, source.get("customer"))
    due = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    initial: dict[str, Any] = {"assignee": actor.pk, "due_at": due, "customer": customer.pk if customer else None}
    form = forms.TaskForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        refs = _task_refs(actor, form)
        if save_form(form, lambda: services.task_create(actor=actor, **refs)) is not None:
            messages.success(request, _("The task was created."))
            return redirect(_next_url(request, reverse("activities:tasks")))
    return render(request, "activities/task_form.html", {"form": form, "task": None, "customer": customer})


@guarded
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    initial = {
        "title": task.title,
        "notes": task.notes,
        "due_at": timezone.localtime(task.due_at),
        "remind_at": timezone.localtime(task.remind_at) if task.remind_at else None,
        "priority": task.priority,
        "assignee": task.assignee_id,
        "customer": task.customer_id,
        "deal": task.deal_id,
        "version": task.version,
    }
    form = forms.TaskForm(request.POST or None, actor=actor, current_assignee=task.assignee, initial=initial)
    if request.method == "POST" and form.is_valid():
        refs = _task_refs(actor, form)
        version = form.cleaned_data.get("version")
        if save_form(form, lambda: services.task_update(actor=actor, task=task, version=version, **refs)) is not None:
            messages.success(request, _("The task was saved."))
            return redirect(_next_url(request, reverse("activities:tasks")))
    return render(request, "activities/task_form.html", {"form": form, "task": task, "customer": task.customer})


@require_POST
@guarded
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    services.task_complete(actor=actor, task=task)
    messages.success(request, _("The task was marked done."))
    return redirect(_next_url(request, reverse("activities:tasks")))


@require_POST
@guarded
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    services.task_reopen(actor=actor, task=task)
    messages.success(request, _("The task was reopened."))
    return redirect(_next_url(request, reverse("activities:tasks")))


@require_POST
@guarded
def task_delete(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    services.task_delete(actor=actor, task=task)
    messages.success(request, _("The task was deleted."))
    return redirect(_next_url(request, reverse("activities:tasks")))


# ---- notifications ---------------------------------------------------------------------------------


@guarded
def notifications(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    unread_only = request.GET.get("unread") == "1"
    kind = request.GET.get("kind", "")
    kind = kind if kind in NotificationKind.values else ""
    context = _page(request, selectors.notification_list(actor=actor, unread_only=unread_only, kind=kind))
    rows = context.pop("rows")
    context.update(
        notifications=[(n, selectors.notification_text(n)) for n in rows],
        notification_rows=rows,
        unread_only=unread_only,
        kind=kind,
        kinds=NotificationKind.choices,
    )
    return render(request, "activities/notifications.html", context)


@require_POST
@guarded
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    actor = _actor(request)
    notification = selectors.notification_get(actor=actor, notification_id=notification_id)
    services.notification_mark_read(actor=actor, notification=notification)
    target = notification.url if request.POST.get("open") and notification.url.startswith("/") else ""
    return redirect(target or _next_url(request, reverse("activities:notifications")))


@require_POST
@guarded
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    count = services.notification_mark_all_read(actor=actor)
    if count:
        messages.success(request, _("All notifications were marked read."))
    return redirect("activities:notifications")


# ---- calendar --------------------------------------------------------------------------------------


def _calendar_range(view: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """Monday-to-Sunday week, or the whole weeks covering the month."""
    if view == "month":
        first = anchor.replace(day=1)
        last = anchor.replace(day=calendar_module.monthrange(anchor.year, anchor.month)[1])
        return first - dt.timedelta(days=first.weekday()), last + dt.timedelta(days=6 - last.weekday())
    start = anchor - dt.timedelta(days=anchor.weekday())
    return start, start + dt.timedelta(days=6)


def _shift(view: str, anchor: dt.date, step: int) -> dt.date:
    if view == "month":
        month = anchor.month - 1 + step
        year = anchor.year + month // 12
        return dt.date(year, month % 12 + 1, 1)
    return anchor + dt.timedelta(days=7 * step)


@guarded
def calendar(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    view = "month" if request.GET.get("view") == "month" else "week"
    today = dates.company_today()
    try:
        anchor = dt.date.fromisoformat(request.GET.get("date") or "") if request.GET.get("date") else today
    except ValueError:
        anchor = today
    anchor = max(dt.date(1971, 1, 1), min(anchor, dt.date(9998, 1, 1)))
    first, last = _calendar_range(view, anchor)
    entries = selectors.calendar_entries(actor=actor, first=first, last=last)
    by_day: dict[dt.date, list[selectors.CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    weeks = [
        [(d, by_day.get(d, []), d.month == anchor.month or view == "week") for d in days[i : i + 7]]
        for i in range(0, len(days), 7)
    ]
    return render(
        request,
        "activities/calendar.html",
        {
            "view": view,
            "anchor": anchor,
            "first": first,
            "last": last,
            "weeks": weeks,
            "entries": entries,
            "today": today,
            "previous": _shift(view, anchor, -1),
            "following": _shift(view, anchor, 1),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@guarded
def calendar_feed_settings(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    new_url = ""
    if request.method == "POST":
        form = forms.CalendarFeedForm(request.POST)
        if form.is_valid() and form.cleaned_data["action"] == "create":
            created = services.calendar_feed_create(actor=actor)
            new_url = request.build_absolute_uri(reverse("activities:calendar_feed", kwargs={"key": created.key}))
            messages.success(request, _("Your calendar address was created. Copy it now: it is shown only once."))
        elif form.is_valid():
            services.calendar_feed_revoke(actor=actor)
            messages.success(request, _("Your calendar address was revoked."))
            return redirect("activities:calendar_feed_settings")
        else:
            return redirect("activities:calendar_feed_settings")
    live = CalendarFeed.objects.filter(user=actor, revoked_at__isnull=True).first()
    response = render(request, "activities/calendar_feed_settings.html", {"feed": live, "new_url": new_url})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def calendar_feed(request: HttpRequest, key: str) -> HttpResponse:
    """The iCalendar feed: no session, the secret key is the credential; unknown or revoked → 404."""
    found = selectors.feed_user(key=key)
    if found is None:
        raise Http404
    feed, user = found
    services.calendar_feed_touch(feed)
    body = ical.build_feed(
        selectors.feed_data(user=user),
        time_zone=user.time_zone,
        host=request.get_host().split(":")[0] or "bridge",
        title=f"Bridge · {user.display_name}",
        base_url=f"{request.scheme}://{request.get_host()}",
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="bridge.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
