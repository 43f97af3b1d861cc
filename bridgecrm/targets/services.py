"""The one write path for targets and sales plans.

Targets: set one (``target_create``), change its amount by hand (``target_adjust``), remove it
(``target_delete``), and decompose it into children (``decomposition_preview`` shows exactly what
``target_decompose`` saves). Plans: create and change them, their phases and milestones, a
milestone's status, and the daily overdue-milestone reminders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.services import notification_create
from bridgecrm.core import audit, dates
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import ProductCategory
from bridgecrm.targets import decompose, measures, policies, selectors
from bridgecrm.targets.models import (
    DecompositionMethod,
    Milestone,
    MilestoneReminder,
    MilestoneStatus,
    PlanPhase,
    PlanScope,
    SalesPlan,
    Target,
    TargetScope,
)
from bridgecrm.users.models import Team, User

TARGET_FIELDS: tuple[str, ...] = ("measure", "period_kind", "period_start", "period_end", "scope", "team", "user")
TARGET_FIELDS += ("product_category", "parent", "amount", "method")
PLAN_FIELDS = ("name", "period_kind", "period_start", "period_end", "scope", "team", "user", "description")
MAX_AMOUNT = Decimal("9999999999999999.99")


def _invalid(field: str, message: Any) -> ApplicationError:
    return ApplicationError("invalid", message, details={field: [str(message)]})


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def clean_measure(raw: Any, field: str = "measure") -> measures.MeasureDef:
    """A measure of the registry that a target may be set on (unavailable ones are refused with
    the reason)."""
    found = measures.get(str(raw or ""))
    if found is None:
        raise _invalid(field, _("Select a valid choice."))
    if not found.available:
        raise ApplicationError(
            "unavailable",
            _("%(measure)s cannot be a target: %(why)s") % {"measure": found.label, "why": found.unavailable or ""},
            details={field: ["unavailable"]},
        )
    return found


def clean_amount(raw: Any, measure: str, field: str = "amount") -> Decimal:
    """A non-negative amount: money to the cent, counts in whole units, rates in percent (0–100,
    to two decimals)."""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter a number.")) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise _invalid(field, _("Enter an amount of at least 0."))
    found = measures.get(measure)
    if found is not None and found.is_ratio and value > 100:
        raise _invalid(field, _("Enter a rate in percent, between 0 and 100."))
    places = selectors.places_of(measure)
    if value != value.quantize(decompose.quantum(places)):
        if places == 0:
            raise _invalid(field, _("Enter a whole number for this measure."))
        raise _invalid(field, _("Enter an amount with at most two decimals."))
    return value.quantize(decompose.quantum(places))


def clean_period(raw: Any, field: str = "period") -> Period:
    if isinstance(raw, Period):
        return raw
    try:
        return Period.parse(str(raw or ""))
    except ValueError:
        raise _invalid(field, _("Enter a period as 2026, 2026-Q3 or 2026-07.")) from None


# ---- targets ---------------------------------------------------------------------------------------


def _notify_rep(target: Target, actor: User) -> None:
    user = target.user
    if target.scope != TargetScope.REP or user is None or user.pk == actor.pk or not user.is_active:
        return
    notification_create(
        recipient=user,
        kind=NotificationKind.TARGET_SET,
        params={
            "target_id": target.pk,
            "measure": target.measure,
            "period": target.period.code,
            "amount": str(target.amount),
        },
        url=reverse("targets:detail", kwargs={"target_id": target.pk}),
    )


def target_create(
    *,
    actor: User,
    measure: str,
    period: Period | str,
    scope: str,
    amount: Any,
    team: Team | None = None,
    user: User | None = None,
    product_category: str = "",
) -> Target:
    """Set a company, team or rep target for a period (one per measure, period, scope and category)."""
    if not policies.may_manage(actor):
        raise _forbidden()
    found = clean_measure(measure)
    period = clean_period(period)
    if scope not in TargetScope.values:
        raise _invalid("scope", _("Select a valid choice."))
    if product_category and product_category not in ProductCategory.values:
        raise _invalid("product_category", _("Select a valid choice."))
    if product_category and not found.categories:
        raise _invalid("product_category", _("A product category applies only to signed amounts and won deals."))
    value = clean_amount(amount, measure)
    if scope == TargetScope.COMPANY:
        team = user = None
        allowed = policies.may_set_company(actor)
    elif scope == TargetScope.TEAM:
        user = None
        if team is None:
            raise _invalid("team", _("Choose a team."))
        allowed = policies.may_set_for_team(actor, team)
    else:
        team = None
        if user is None:
            raise _invalid("user", _("Choose a rep."))
        allowed = policies.may_set_for_rep(actor, user)
    if not allowed:
        raise _forbidden()
    target = Target(
        measure=measure,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope=scope,
        team=team,
        user=user,
        product_category=product_category,
        amount=value,
        method=DecompositionMethod.MANUAL,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            target.save()
            audit.record_created(actor=actor, obj=target, values=audit.snapshot(target, TARGET_FIELDS))
            _notify_rep(target, actor)
    except IntegrityError:
        raise ApplicationError(
            "exists", _("There is already a target for this measure, period and scope."), details={"scope": ["exists"]}
        ) from None
    return target


def _editable_target(actor: User, target: Target) -> Target:
    visible = selectors.visible_targets(actor).select_related("team", "user", "parent").filter(pk=target.pk).first()
    if visible is None:
        raise NotFound("not_found", _("Not found."))
    if not policies.may_edit_target(actor, visible):
        raise _forbidden()
    return visible


def target_adjust(*, actor: User, target: Target, amount: Any) -> Target:
    """Change one target's amount by hand (after a decomposition, say). Its parent and children are
    left alone: where they no longer add up, the progress page warns."""
    target = _editable_target(actor, target)
    value = clean_amount(amount, target.measure)
    if value == target.amount:
        return target
    with transaction.atomic():
        locked = Target.objects.select_for_update().get(pk=target.pk)
        before = audit.snapshot(locked, ("amount", "method"))
        locked.amount, locked.method, locked.updated_at = value, DecompositionMethod.MANUAL, timezone.now()
        locked.save(update_fields=["amount", "method", "updated_at"])
        audit.record_changes(actor=actor, obj=locked, before=before, after=audit.snapshot(locked, ("amount", "method")))
        _notify_rep(locked, actor)
    locked.team, locked.user, locked.parent = target.team, target.user, target.parent
    return locked


def target_delete(*, actor: User, target: Target) -> None:
    """Remove a target and everything decomposed from it."""
    target = _editable_target(actor, target)
    with transaction.atomic():
        for child in Target.objects.filter(parent=target):
            _delete_tree(actor, child)
        audit.record_deleted(actor=actor, obj=target, values=audit.snapshot(target, TARGET_FIELDS))
        target.delete()


def _delete_tree(actor: User, target: Target) -> None:
    for child in Target.objects.filter(parent=target):
        _delete_tree(actor, child)
    audit.record_deleted(actor=actor, obj=target, values=audit.snapshot(target, TARGET_FIELDS))
    target.delete()


class Dimension:
    SCOPE = "scope"  # company → teams, team → sub-teams or reps
    MONTHS = "months"  # year or quarter → months
    QUARTERS = "quarters"  # year → quarters


DIMENSIONS = (Dimension.SCOPE, Dimension.MONTHS, Dimension.QUARTERS)


@dataclass(frozen=True)
class PreviewLine:
    unit: selectors.Unit
    weight: Decimal
    amount: Decimal
    current: Decimal | None  # the unit's target now, if it has one


@dataclass(frozen=True)
class Preview:
    parent: Target
    dimension: str
    method: str
    lines: list[PreviewLine]
    fell_back_to_equal: bool

    @property
    def additive(self) -> bool:
        return self.parent.additive

    @property
    def total(self) -> Decimal | None:
        """What the parts add up to (None for rates and averages: their parts do not add up)."""
        if not self.parent.additive:
            return None
        return sum((line.amount for line in self.lines), Decimal(0))


def units_for(target: Target, dimension: str) -> list[selectors.Unit]:
    if dimension == Dimension.SCOPE:
        units = selectors.scope_units(target)
        manager_id = target.team.manager_id if target.team is not None else None
        return [u for u in units if u.user_id is None or u.user_id != manager_id]
    if dimension == Dimension.MONTHS:
        return selectors.time_units_of(target, months=True)
    if dimension == Dimension.QUARTERS:
        if target.period_kind != "year":
            return []
        return selectors.time_units_of(target, months=False)
    raise _invalid("dimension", _("Select a valid choice."))


def methods_for(target: Target) -> list[str]:
    """The decomposition methods that apply: a sum splits; a rate or an average is copied."""
    if not target.additive:
        return [DecompositionMethod.SAME]
    return [DecompositionMethod.EQUAL, DecompositionMethod.WEIGHTS, DecompositionMethod.LAST_YEAR_SHARE]
    # (seasonality is offered too, for time splits: checked in ``_weights``)


def _weights(
    target: Target, units: Sequence[selectors.Unit], method: str, entered: Mapping[str, Any] | None
) -> list[Decimal]:
    if not target.additive:
        if method != DecompositionMethod.SAME:
            raise _invalid(
                "method",
                _(
                    "%(measure)s is a rate or an average, not a sum: every part gets the same value. "
                    "Choose “same value for everyone”."
                )
                % {"measure": measures.label_of(target.measure)},
            )
        return [Decimal(1)] * len(units)
    if method == DecompositionMethod.SAME:
        raise _invalid(
            "method", _("“Same value for everyone” applies to rates and averages; a sum is split among its parts.")
        )
    if method == DecompositionMethod.EQUAL:
        return [Decimal(1)] * len(units)
    if method == DecompositionMethod.WEIGHTS:
        out = []
        for unit in units:
            raw = (entered or {}).get(unit.key, 0)
            try:
                w = Decimal(str(raw if raw not in (None, "") else 0).strip())
            except (InvalidOperation, ValueError):
                raise _invalid("weights", _("Enter a number.")) from None
            if not w.is_finite() or w < 0 or w > Decimal("1e12"):
                raise _invalid("weights", _("Weights are numbers of at least 0."))
            out.append(w)
        return out
    if method == DecompositionMethod.LAST_YEAR_SHARE:
        return selectors.last_year_weights(target, units)
    if method == DecompositionMethod.SEASONALITY:
        if units and not units[0].key.startswith("period:"):
            raise _invalid("method", _("Seasonality splits a period into months or quarters; choose another method."))
        return selectors.last_year_weights(target, units)
    raise _invalid("method", _("Select a valid choice."))


def decomposition_preview(
    *,
    actor: User,
    parent: Target,
    dimension: str,
    method: str,
    weights: Mapping[str, Any] | None = None,
) -> Preview:
    """What ``target_decompose`` would save, computed the same way, without writing."""
    parent = _editable_target(actor, parent)
    if dimension not in DIMENSIONS:
        raise _invalid("dimension", _("Select a valid choice."))
    units = units_for(parent, dimension)
    if not units:
        raise _invalid("dimension", _("There is nothing to split this target into."))
    w = _weights(parent, units, method, weights)
    if parent.additive:
        result = decompose.split(parent.amount, w, places=selectors.places_of(parent.measure))
    else:
        result = decompose.same_value(parent.shown_amount, len(units))
    existing = _existing(parent, units)
    lines = [
        PreviewLine(u, wt, amt, existing[u.key].shown_amount if u.key in existing else None)
        for u, wt, amt in zip(units, w, result.parts, strict=True)
    ]
    return Preview(parent, dimension, method, lines, result.fell_back_to_equal)


def _existing(parent: Target, units: Sequence[selectors.Unit]) -> dict[str, Target]:
    """The targets the units have already (any parent), keyed by unit."""
    if not units:
        return {}
    keys = {(u.scope, u.team_id, u.user_id, u.period.start, u.period.end): u.key for u in units}
    candidates = Target.objects.filter(
        measure=parent.measure,
        product_category=parent.product_category,
        scope__in={u.scope for u in units},
        period_start__in={u.period.start for u in units},
    )
    out: dict[str, Target] = {}
    for t in candidates:
        key = keys.get((t.scope, t.team_id, t.user_id, t.period_start, t.period_end))
        if key is not None:
            out[key] = t
    return out


def target_decompose(
    *,
    actor: User,
    parent: Target,
    dimension: str,
    method: str,
    weights: Mapping[str, Any] | None = None,
) -> tuple[list[Target], Preview]:
    """Split the parent among its units (teams, reps, months or quarters): the children add up to the
    parent exactly. A unit that has a target already gets the new amount and the parent; children of
    the same dimension that are no longer units are removed."""
    preview = decomposition_preview(actor=actor, parent=parent, dimension=dimension, method=method, weights=weights)
    parent = preview.parent
    for line in preview.lines:
        u = line.unit
        if u.scope == TargetScope.TEAM and not policies.may_set_for_team(actor, _team(u.team_id)):
            raise _forbidden()
        if u.scope == TargetScope.REP and not policies.may_set_for_rep(actor, _user(u.user_id)):
            raise _forbidden()
    children: list[Target] = []
    now = timezone.now()
    with transaction.atomic():
        Target.objects.select_for_update().filter(pk=parent.pk).first()
        existing = _existing(parent, [line.unit for line in preview.lines])
        keep = {t.pk for t in existing.values()}
        time_split = dimension != Dimension.SCOPE
        for old in Target.objects.filter(parent=parent).exclude(pk__in=keep):
            old_is_time = (old.period_start, old.period_end) != (parent.period_start, parent.period_end)
            if old_is_time == time_split:
                _delete_tree(actor, old)
        for line in preview.lines:
            u = line.unit
            child = existing.get(u.key)
            if child is None:
                child = Target.objects.create(
                    measure=parent.measure,
                    period_kind=u.period.kind,
                    period_start=u.period.start,
                    period_end=u.period.end,
                    scope=u.scope,
                    team_id=u.team_id,
                    user_id=u.user_id,
                    product_category=parent.product_category,
                    parent=parent,
                    amount=line.amount,
                    method=method,
                    created_by=actor,
                )
                audit.record_created(actor=actor, obj=child, values=audit.snapshot(child, TARGET_FIELDS))
            else:
                before = audit.snapshot(child, ("parent", "amount", "method"))
                child.parent, child.amount, child.method, child.updated_at = parent, line.amount, method, now
                child.save(update_fields=["parent", "amount", "method", "updated_at"])
                audit.record_changes(
                    actor=actor, obj=child, before=before, after=audit.snapshot(child, ("parent", "amount", "method"))
                )
            if u.scope == TargetScope.REP and line.current != line.amount:
                _notify_rep(child, actor)
            children.append(child)
    return children, preview


def _team(pk: int | None) -> Team | None:
    return Team.objects.filter(pk=pk).first() if pk is not None else None


def _user(pk: int | None) -> User | None:
    return User.objects.select_related("team").filter(pk=pk).first() if pk is not None else None


# ---- sales plans -----------------------------------------------------------------------------------


def _clean_text(raw: Any, field: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(raw or "").split())
    if required and not text:
        raise _invalid(field, _("This field is required."))
    if len(text) > limit:
        raise _invalid(field, _("This value is too long."))
    return text


def _plan_owner(actor: User, scope: str, team: Team | None, user: User | None) -> tuple[Team | None, User | None]:
    if scope == PlanScope.TEAM:
        if team is None:
            raise _invalid("team", _("Choose a team."))
        if not policies.may_set_for_team(actor, team):
            raise _forbidden()
        return team, None
    if scope == PlanScope.REP:
        if user is None:
            raise _invalid("user", _("Choose a rep."))
        if not policies.may_set_for_rep(actor, user):
            raise _forbidden()
        return None, user
    raise _invalid("scope", _("Select a valid choice."))


def plan_create(
    *,
    actor: User,
    name: str,
    period: Period | str,
    scope: str,
    team: Team | None = None,
    user: User | None = None,
    description: str = "",
) -> SalesPlan:
    if not policies.may_manage(actor):
        raise _forbidden()
    name = _clean_text(name, "name", 200)
    period = clean_period(period)
    team, user = _plan_owner(actor, scope, team, user)
    description = str(description or "").strip()
    if len(description) > 4000:
        raise _invalid("description", _("This value is too long."))
    with transaction.atomic():
        plan = SalesPlan.objects.create(
            name=name,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            scope=scope,
            team=team,
            user=user,
            description=description,
            created_by=actor,
        )
        audit.record_created(actor=actor, obj=plan, values=audit.snapshot(plan, PLAN_FIELDS))
    return plan


def _editable_plan(actor: User, plan: SalesPlan) -> SalesPlan:
    plan = selectors.plan_for(actor=actor, plan_id=plan.pk)
    if not policies.may_edit_plan(actor, plan):
        raise _forbidden()
    return plan


def plan_update(*, actor: User, plan: SalesPlan, name: str, description: str = "") -> SalesPlan:
    plan = _editable_plan(actor, plan)
    name = _clean_text(name, "name", 200)
    description = str(description or "").strip()
    if len(description) > 4000:
        raise _invalid("description", _("This value is too long."))
    with transaction.atomic():
        before = audit.snapshot(plan, ("name", "description"))
        plan.name, plan.description, plan.updated_at = name, description, timezone.now()
        plan.save(update_fields=["name", "description", "updated_at"])
        audit.record_changes(actor=actor, obj=plan, before=before, after=audit.snapshot(plan, ("name", "description")))
    return plan


def plan_delete(*, actor: User, plan: SalesPlan) -> None:
    plan = _editable_plan(actor, plan)
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=plan, values=audit.snapshot(plan, PLAN_FIELDS))
        plan.delete()


def _clean_dates(plan: SalesPlan, starts_on: Any, ends_on: Any) -> tuple[dt.date, dt.date]:
    try:
        start = starts_on if isinstance(starts_on, dt.date) else dt.date.fromisoformat(str(starts_on))
        end = ends_on if isinstance(ends_on, dt.date) else dt.date.fromisoformat(str(ends_on))
    except ValueError:
        raise _invalid("starts_on", _("Enter a valid date.")) from None
    if end < start:
        raise _invalid("ends_on", _("The end comes before the start."))
    if start < plan.period_start or end > plan.period_end:
        raise _invalid("starts_on", _("The dates must lie inside the plan's period."))
    return start, end


def phase_add(*, actor: User, plan: SalesPlan, name: str, starts_on: Any, ends_on: Any) -> PlanPhase:
    """Add a phase at the end; phases are shown in order."""
    plan = _editable_plan(actor, plan)
    name = _clean_text(name, "name", 200)
    start, end = _clean_dates(plan, starts_on, ends_on)
    with transaction.atomic():
        last = PlanPhase.objects.filter(plan=plan).order_by("-order").values_list("order", flat=True).first() or 0
        phase = PlanPhase.objects.create(plan=plan, order=last + 1, name=name, starts_on=start, ends_on=end)
        audit.record_created(actor=actor, obj=phase, values=audit.snapshot(phase, ("plan", "order", "name")))
    return phase


def phase_delete(*, actor: User, phase: PlanPhase) -> None:
    _editable_plan(actor, phase.plan)
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=phase, values=audit.snapshot(phase, ("plan", "order", "name")))
        phase.delete()


def milestone_add(
    *,
    actor: User,
    plan: SalesPlan,
    title: str,
    due_on: Any,
    owner: User,
    phase: PlanPhase | None = None,
    target_ids: Sequence[int] = (),
    customer_ids: Sequence[int] = (),
) -> Milestone:
    """A milestone with its owner (someone the actor sees), linked targets and key customers (both
    only among those the actor sees)."""
    plan = _editable_plan(actor, plan)
    title = _clean_text(title, "title", 200)
    try:
        due = due_on if isinstance(due_on, dt.date) else dt.date.fromisoformat(str(due_on))
    except ValueError:
        raise _invalid("due_on", _("Enter a valid date.")) from None
    if not User.objects.visible_to(actor).filter(pk=owner.pk, is_active=True).exists():
        raise _invalid("owner", _("Choose someone you can see."))
    if phase is not None and phase.plan_id != plan.pk:
        raise _invalid("phase", _("Select a valid choice."))
    targets = list(selectors.visible_targets(actor).filter(pk__in=list(target_ids)))
    if len(targets) != len(set(target_ids)):
        raise _invalid("targets", _("Choose targets you can see."))
    customers = list(Customer.objects.visible_to(actor).filter(pk__in=list(customer_ids)))
    if len(customers) != len(set(customer_ids)):
        raise _invalid("customers", _("Choose customers you can see."))
    with transaction.atomic():
        milestone = Milestone.objects.create(plan=plan, phase=phase, title=title, due_on=due, owner=owner)
        milestone.targets.set(targets)
        milestone.customers.set(customers)
        audit.record_created(
            actor=actor, obj=milestone, values=audit.snapshot(milestone, ("plan", "title", "due_on", "owner"))
        )
    return milestone


def milestone_set_status(*, actor: User, milestone: Milestone, status: str, today: dt.date | None = None) -> Milestone:
    milestone = selectors.milestone_for(actor=actor, milestone_id=milestone.pk)
    if not policies.may_set_milestone_status(actor, milestone):
        raise _forbidden()
    if status not in MilestoneStatus.values:
        raise _invalid("status", _("Select a valid choice."))
    if status == milestone.status:
        return milestone
    today = today or dates.company_today()
    with transaction.atomic():
        before = audit.snapshot(milestone, ("status", "done_on"))
        milestone.status = status
        milestone.done_on = today if status == MilestoneStatus.DONE else None
        milestone.save(update_fields=["status", "done_on"])
        audit.record_changes(
            actor=actor, obj=milestone, before=before, after=audit.snapshot(milestone, ("status", "done_on"))
        )
    return milestone


def milestone_delete(*, actor: User, milestone: Milestone) -> None:
    milestone = selectors.milestone_for(actor=actor, milestone_id=milestone.pk)
    if not policies.may_edit_plan(actor, milestone.plan):
        raise _forbidden()
    with transaction.atomic():
        audit.record_deleted(
            actor=actor, obj=milestone, values=audit.snapshot(milestone, ("plan", "title", "due_on", "owner"))
        )
        milestone.delete()


def milestone_reminders_send(*, today: dt.date | None = None) -> int:
    """Tell each open overdue milestone's owner, once per milestone and due date (a unique row claims
    it in the notification's transaction): reruns and two workers at once send nothing twice."""
    today = today or dates.company_today()
    overdue = (
        Milestone.objects.filter(status=MilestoneStatus.OPEN, due_on__lt=today, owner__is_active=True)
        .select_related("plan", "owner")
        .order_by("due_on", "pk")
    )
    done = set(
        MilestoneReminder.objects.filter(due_on__lt=today, milestone__status=MilestoneStatus.OPEN).values_list(
            "milestone_id", "due_on"
        )
    )
    sent = 0
    for milestone in overdue.iterator(chunk_size=500):
        if (milestone.pk, milestone.due_on) in done:
            continue
        owner = milestone.owner
        try:
            with transaction.atomic():
                MilestoneReminder.objects.create(milestone=milestone, due_on=milestone.due_on, recipient=owner)
                notification_create(
                    recipient=owner,
                    kind=NotificationKind.MILESTONE_OVERDUE,
                    params={
                        "milestone_id": milestone.pk,
                        "title": milestone.title,
                        "plan": milestone.plan.name,
                        "due_on": milestone.due_on.isoformat(),
                        "days": (today - milestone.due_on).days,
                    },
                    url=reverse("targets:plan_detail", kwargs={"plan_id": milestone.plan_id}),
                )
        except IntegrityError:
            continue  # another run claimed it first
        sent += 1
    return sent
