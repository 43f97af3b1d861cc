"""The one write path for the public pool: claim, release, protect, assign, distribute, the rules,
and the recycling job. Each change is audited on the customer and writes a ``PoolEvent`` that the
customer's timeline explains ("recycled: no follow-up for 30 days").

Claims are race-safe: the customer moves with a conditional ``UPDATE … WHERE owner_id IS NULL``,
so of two reps claiming at once exactly one changes a row; the other gets a conflict. The rep's
limits are checked in the same transaction after locking the rep's user row, so one rep's
parallel claims cannot slip past the holding or daily limit either. On SQLite every write
transaction is ``BEGIN IMMEDIATE`` and so runs one at a time.

Every service takes ``now`` (default: the current time), so the rules are tested with a frozen clock.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities import services as activity_services
from bridgecrm.activities.models import NotificationKind
from bridgecrm.core import audit, dates
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.customers.models import Customer
from bridgecrm.pool import policies, selectors
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules
from bridgecrm.users.models import User

POOL_FIELDS = ("owner", "team", "pooled_at", "owner_since", "is_protected")
RULE_FIELDS = (
    "recycle_no_follow_up_days",
    "recycle_no_progress_days",
    "warning_days",
    "holding_limit",
    "daily_claim_limit",
    "cooldown_days",
    "protected_cap",
    "mask_contacts",
)
MAX_DAYS = 3650
MAX_COUNT = 100_000
DISTRIBUTE_MODES = ("round_robin", "load")
MAX_DISTRIBUTE = 500
MAX_REPS = 100


def _invalid(field_name: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field_name: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _snapshot(customer: Customer) -> audit.Snapshot:
    values = audit.snapshot(customer, POOL_FIELDS)
    values["collaborators"] = sorted(customer.collaborators.values_list("pk", flat=True))
    return values


def _customer_url(customer_id: int) -> str:
    return reverse("customers:detail", kwargs={"customer_id": customer_id})


def _pool_url(customer_id: int) -> str:
    return reverse("pool:detail", kwargs={"customer_id": customer_id})


# ---- rules ---------------------------------------------------------------------------------------


def rules_update(*, actor: User, version: int | None = None, **changes: Any) -> PoolRules:
    """Change the pool's rules (``pool.manage``). ``version`` (when given) must be current."""
    if not policies.may_manage_rules(actor):
        raise _forbidden()
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ApplicationError("invalid", _("Unknown fields."), details={f: ["unknown"] for f in sorted(unknown)})
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "mask_contacts":
            cleaned[name] = bool(value)
            continue
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise _invalid(name, _("Enter a whole number.")) from exc
        high = MAX_DAYS if name.endswith("days") else MAX_COUNT
        if not 0 <= number <= high:
            raise _invalid(name, _("Enter a number between 0 and %(high)s.") % {"high": high})
        cleaned[name] = number
    with transaction.atomic():
        selectors.rules_get()
        rules = PoolRules.objects.select_for_update().get(pk=1)
        if version is not None and version != rules.version:
            raise Conflict(
                "stale",
                _("Someone else changed the rules in the meantime. Reload the page and try again."),
                details={"current_version": [str(rules.version)]},
            )
        before = audit.snapshot(rules, RULE_FIELDS)
        for name, value in cleaned.items():
            setattr(rules, name, value)
        warn, follow, progress = rules.warning_days, rules.recycle_no_follow_up_days, rules.recycle_no_progress_days
        if warn and any(0 < days <= warn for days in (follow, progress)):
            raise _invalid("warning_days", _("The warning must come fewer days before than the recycling period."))
        after = audit.snapshot(rules, RULE_FIELDS)
        if after != before:
            rules.version += 1
            rules.updated_at = timezone.now()
            rules.save()
            audit.record_changes(actor=actor, obj=rules, before=before, after=after)
    return rules


# ---- moving customers ----------------------------------------------------------------------------


def _lock_user(user: User) -> None:
    """Serialise the limit checks of one rep (their claims, assignments and protections)."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _check_holding(rules: PoolRules, rep: User, *, own: bool) -> None:
    if rules.holding_limit and selectors.holdings(rep) >= rules.holding_limit:
        if own:
            message = _("You already hold %(count)s customers, the most a rep may hold.")
        else:
            message = _("%(name)s already holds %(count)s customers, the most a rep may hold.")
        raise ApplicationError(
            "holding_limit", message % {"count": rules.holding_limit, "name": rep.display_name}, details={}
        )


def _check_daily(rules: PoolRules, rep: User, now: dt.datetime) -> None:
    if rules.daily_claim_limit and selectors.claims_today(rep, now) >= rules.daily_claim_limit:
        raise ApplicationError(
            "daily_limit",
            _("You have claimed %(count)s customers today, the most per day. Try again tomorrow.")
            % {"count": rules.daily_claim_limit},
        )


def _check_cooldown(rules: PoolRules, rep: User, customer_id: int, now: dt.datetime) -> None:
    if not rules.cooldown_days:
        return
    since = now - dt.timedelta(days=rules.cooldown_days)
    last = (
        PoolEvent.objects.filter(
            customer_id=customer_id,
            user_id=rep.pk,
            kind__in=[PoolEventKind.RELEASED, PoolEventKind.RECYCLED],
            at__gt=since,
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last is not None:
        until = timezone.localtime(last + dt.timedelta(days=rules.cooldown_days), dates.company_zone())
        raise ApplicationError(
            "cooldown",
            _("You gave up this customer recently; you may claim it again from %(when)s.")
            % {"when": until.strftime("%Y-%m-%d %H:%M")},
        )


def _take(customer_id: int, rep: User, now: dt.datetime, actor: User) -> Customer:
    """Give a pool customer to ``rep``: one conditional UPDATE; a conflict when it left the pool."""
    before_obj = Customer.objects.filter(pk=customer_id).first()
    if before_obj is None:
        raise _not_found()
    before = _snapshot(before_obj)
    moved = (
        selectors.in_pool()
        .filter(pk=customer_id)
        .update(
            owner=rep,
            team=rep.team,
            owner_since=now,
            pooled_at=None,
            is_protected=False,
            updated_at=now,
            version=F("version") + 1,
        )
    )
    if moved != 1:
        raise Conflict("claimed", _("Someone else took this customer a moment ago."))
    customer = Customer.objects.get(pk=customer_id)
    return _audited(before, customer, actor)


def _audited(before: audit.Snapshot, customer: Customer, actor: User | None = None) -> Customer:
    audit.record_changes(actor=actor, obj=customer, before=before, after=_snapshot(customer))
    return customer


def pool_claim(*, actor: User, customer: Customer, now: dt.datetime | None = None) -> Customer:
    """The actor takes a pool customer, within the holding and daily limits and the cool-down."""
    if not policies.may_claim(actor):
        raise _forbidden()
    now = now or timezone.now()
    rules = selectors.rules_get()
    with transaction.atomic():
        _lock_user(actor)
        if not selectors.in_pool().filter(pk=customer.pk).exists():
            raise Conflict("claimed", _("Someone else took this customer a moment ago."))
        _check_cooldown(rules, actor, customer.pk, now)
        _check_holding(rules, actor, own=True)
        _check_daily(rules, actor, now)
        taken = _take(customer.pk, actor, now, actor)
        PoolEvent.objects.create(customer=taken, kind=PoolEventKind.CLAIMED, at=now, actor=actor, user=actor)
    return taken


def _to_pool(locked: Customer, now: dt.datetime) -> None:
    locked.owner, locked.team = None, None
    locked.pooled_at, locked.owner_since, locked.is_protected = now, None, False
    locked.version += 1
    locked.updated_at = now
    locked.save(update_fields=["owner", "team", "pooled_at", "owner_since", "is_protected", "version", "updated_at"])
    locked.collaborators.clear()  # the pool shows details masked: nobody keeps a way around it


def pool_release(*, actor: User, customer: Customer, reason: str, now: dt.datetime | None = None) -> Customer:
    """Give an owned customer back to the pool with a reason (the owner, their managers, admins)."""
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise _not_found()
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise _invalid("reason", _("Say why you release this customer."))
    if len(reason) > 300:
        raise _invalid("reason", _("A reason has at most 300 characters."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.owner_id is None:
            raise Conflict("in_pool", _("This customer is already in the public pool."))
        if not policies.may_release(actor, locked):
            raise _forbidden()
        former = locked.owner_id
        before = _snapshot(locked)
        _to_pool(locked, now)
        _audited(before, locked, actor)
        PoolEvent.objects.create(
            customer=locked, kind=PoolEventKind.RELEASED, at=now, actor=actor, user_id=former, note=reason
        )
    return locked


def pool_protect(*, actor: User, customer: Customer, protected: bool, now: dt.datetime | None = None) -> Customer:
    """Protect an owned customer from recycling (up to the cap per rep), or lift the protection."""
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise _not_found()
    now = now or timezone.now()
    rules = selectors.rules_get()
    with transaction.atomic():
        locked = Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer.pk)
        if not policies.may_protect(actor, locked) or locked.owner is None:
            raise _forbidden()
        if locked.is_protected == protected:
            return locked
        if protected:
            _lock_user(locked.owner)
            if selectors.protected_count(locked.owner) >= rules.protected_cap:
                raise ApplicationError(
                    "protected_cap",
                    _("A rep may protect at most %(count)s customers.") % {"count": rules.protected_cap},
                )
        before = _snapshot(locked)
        locked.is_protected = protected
        locked.version += 1
        locked.updated_at = now
        locked.save(update_fields=["is_protected", "version", "updated_at"])
        _audited(before, locked, actor)
        kind = PoolEventKind.PROTECTED if protected else PoolEventKind.UNPROTECTED
        PoolEvent.objects.create(customer=locked, kind=kind, at=now, actor=actor, user=locked.owner)
    return locked


def _assign_one(actor: User, customer_id: int, rep: User, rules: PoolRules, now: dt.datetime) -> Customer:
    with transaction.atomic():
        _lock_user(rep)
        _check_holding(rules, rep, own=rep.pk == actor.pk)
        taken = _take(customer_id, rep, now, actor)
        PoolEvent.objects.create(customer=taken, kind=PoolEventKind.ASSIGNED, at=now, actor=actor, user=rep)
        if rep.pk != actor.pk:
            activity_services.notification_create(
                recipient=rep,
                kind=NotificationKind.POOL_ASSIGNED,
                params={"name": taken.name, "by": actor.display_name},
                url=_customer_url(taken.pk),
            )
    return taken


def _check_rep(actor: User, rep: User) -> None:
    if not policies.may_assign_to(actor, rep):
        raise _invalid("user", _("Choose an active rep in your teams."))


def pool_assign(*, actor: User, customer: Customer, rep: User, now: dt.datetime | None = None) -> Customer:
    """A manager (``pool.assign``) gives a pool customer to a rep in their scope."""
    if not policies.may_assign(actor):
        raise _forbidden()
    _check_rep(actor, rep)
    now = now or timezone.now()
    return _assign_one(actor, customer.pk, rep, selectors.rules_get(), now)


@dataclass
class Distribution:
    assigned: list[tuple[int, int]] = field(default_factory=list)  # (customer id, rep id)
    skipped: list[int] = field(default_factory=list)  # customers no longer in the pool, or no rep had room


def pool_distribute(
    *,
    actor: User,
    customers: Sequence[Customer],
    reps: Sequence[User],
    mode: str = "round_robin",
    now: dt.datetime | None = None,
) -> Distribution:
    """Share pool customers among reps: in turn (``round_robin``) or each to the rep holding the
    fewest at that moment (``load``); reps at their holding limit are passed over."""
    if not policies.may_assign(actor):
        raise _forbidden()
    if mode not in DISTRIBUTE_MODES:
        raise _invalid("mode", _("Choose round robin or by current load."))
    people = list({r.pk: r for r in reps}.values())
    if not people or len(people) > MAX_REPS:
        raise _invalid("users", _("Choose between 1 and 100 reps."))
    for rep in people:
        _check_rep(actor, rep)
    ids = list(dict.fromkeys(c.pk for c in customers))
    if not ids or len(ids) > MAX_DISTRIBUTE:
        raise _invalid("customers", _("Choose between 1 and 500 customers from the pool."))
    now = now or timezone.now()
    rules = selectors.rules_get()
    load = {rep.pk: selectors.holdings(rep) for rep in people}
    turn = itertools.cycle(range(len(people)))
    result = Distribution()
    for customer_id in ids:
        if mode == "load":
            order = sorted(range(len(people)), key=lambda i: (load[people[i].pk], i))
        else:
            start = next(turn)
            order = [(start + k) % len(people) for k in range(len(people))]
        for index in order:
            rep = people[index]
            if rules.holding_limit and load[rep.pk] >= rules.holding_limit:
                continue
            try:
                _assign_one(actor, customer_id, rep, rules, now)
            except Conflict:
                result.skipped.append(customer_id)
            except ApplicationError as exc:
                if exc.code != "holding_limit":
                    raise
                load[rep.pk] = rules.holding_limit
                continue
            else:
                load[rep.pk] += 1
                result.assigned.append((customer_id, rep.pk))
            break
        else:
            result.skipped.append(customer_id)
    return result


# ---- the recycling job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecycleRun:
    recycled: int
    warned: int


def _recycle_one(customer_id: int, rules: PoolRules, now: dt.datetime) -> bool:
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if locked is None or locked.owner_id is None or locked.is_protected or locked.deleted_at is not None:
            return False
        clocks = selectors.clocks_of(customer_id)
        due = selectors.due_of(clocks, rules, now) if clocks is not None else None
        if due is None or due.due_at > now:
            return False  # a follow-up was logged since the candidates were read
        former = User.objects.get(pk=locked.owner_id)
        period = locked.owner_since or locked.created_at
        before = _snapshot(locked)
        _to_pool(locked, now)
        _audited(before, locked)
        PoolEvent.objects.create(
            customer=locked,
            kind=PoolEventKind.RECYCLED,
            at=now,
            user=former,
            reason=due.reason,
            days=due.days,
            period_start=period,
        )
        activity_services.notification_create(
            recipient=former,
            kind=NotificationKind.POOL_RECYCLED,
            params={"name": locked.name, "reason": due.reason, "days": due.days},
            url=_pool_url(locked.pk),
        )
    return True


def _warn_one(customer: Any, rules: PoolRules, now: dt.datetime) -> bool:
    due = selectors.due_of(customer, rules, now)
    if due is None or customer.owner_id is None:
        return False
    try:
        with transaction.atomic():
            PoolEvent.objects.create(
                customer_id=customer.pk,
                kind=PoolEventKind.WARNED,
                at=now,
                user_id=customer.owner_id,
                reason=due.reason,
                days=max((due.due_at - now).days, 0),
                period_start=customer.period,
            )
            activity_services.notification_create(
                recipient=User.objects.get(pk=customer.owner_id),
                kind=NotificationKind.POOL_WARNING,
                params={
                    "name": customer.name,
                    "reason": due.reason,
                    "on": timezone.localtime(due.due_at, dates.company_zone()).date().isoformat(),
                },
                url=_customer_url(customer.pk),
            )
    except IntegrityError:
        return False  # warned already in this ownership period (another run got there first)
    return True


def pool_recycle(*, now: dt.datetime | None = None, batch: int = 200) -> RecycleRun:
    """Return neglected customers to the pool and warn owners ahead of it.

    Everything is derived from the data and ``now``: a second run at the same moment changes
    nothing, and a run after downtime recycles what came due meanwhile. Customers move in batches
    of ``batch`` per transaction (each one re-checked under its row lock), so a commit is not paid
    per customer; a run stopped half-way leaves whole batches, and the next run does the rest."""
    now = now or timezone.now()
    rules = selectors.rules_get()
    recycled = warned = 0
    ids = list(selectors.recycle_candidates(rules=rules, now=now).values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            for customer_id in ids[start : start + batch]:
                recycled += _recycle_one(customer_id, rules, now)
    due = list(selectors.warning_candidates(rules=rules, now=now))
    for start in range(0, len(due), batch):
        with transaction.atomic():
            for customer in due[start : start + batch]:
                warned += _warn_one(customer, rules, now)
    return RecycleRun(recycled=recycled, warned=warned)


def reps_by_ids(*, actor: User, ids: Iterable[int]) -> list[User]:
    """Active people the actor may assign to, by id; an unknown or out-of-scope id is refused."""
    wanted = list(dict.fromkeys(ids))
    people = {u.pk: u for u in User.objects.visible_to(actor).filter(pk__in=wanted, is_active=True)}
    if set(wanted) - set(people):
        raise _invalid("users", _("Choose active reps in your teams."))
    return [people[i] for i in wanted]
