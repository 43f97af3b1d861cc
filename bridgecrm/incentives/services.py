"""The one write path for incentives: plans and their assignments, bonus rules, promotion criteria,
statements (generate while draft, approve and lock).

A statement is built from scratch on every generation while it is a draft (idempotent: the same
facts give the same lines); once approved it never changes. What changes after approval (a payment
deleted, a deal reopened, a contract terminated) comes back as clawback lines in the next
statement generated for the rep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.services import notification_create
from bridgecrm.contracts.models import Contract, ContractStatus, Payment, Refund
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.models import CompanyProfile
from bridgecrm.core.periods import Period
from bridgecrm.core.selectors import rates_on
from bridgecrm.incentives import compute, policies, selectors
from bridgecrm.incentives.models import (
    BandMode,
    Basis,
    BonusRule,
    CommissionPlan,
    LineKind,
    PlanAssignment,
    PromotionCriterion,
    Statement,
    StatementLine,
    StatementStatus,
)
from bridgecrm.pipeline.models import Deal, DealLine, DealStatus
from bridgecrm.scorecards.models import Scorecard
from bridgecrm.targets.models import Measure
from bridgecrm.targets.selectors import rep_target_amounts
from bridgecrm.training.models import TrainingCourse
from bridgecrm.users.models import Role, Team, User

PLAN_FIELDS = ("name", "basis", "band_mode", "bands", "accelerator", "cap", "is_active")


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _decimal(field: str, raw: Any, low: Decimal, high: Decimal, *, places: int = 2) -> Decimal:
    if isinstance(raw, float):
        raw = str(raw)
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter a number.")) from None
    if not value.is_finite() or value < low or value > high:
        raise _invalid(field, _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high})
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise _invalid(field, _("Use at most %(places)s decimal places.") % {"places": places})
    return value


def _name(raw: Any) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        raise _invalid("name", _("Enter a name."))
    if len(name) > 120:
        raise _invalid("name", _("A name has at most 120 characters."))
    return name


def _require_manage(actor: User) -> None:
    if not policies.may_manage(actor):
        raise _forbidden()


# ---- plans -----------------------------------------------------------------------------------------


def clean_bands(raw: Any) -> list[dict[str, str]]:
    """``[{"from": "0", "rate": "2"}, {"from": "80", "rate": "3"}]``: starts at 0, rising, rates 0–100 %."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise _invalid("bands", _("Give at least one band: from which attainment (%) and at what rate (%)."))
    out: list[dict[str, str]] = []
    previous: Decimal | None = None
    for row in raw:
        if not isinstance(row, Mapping):
            raise _invalid("bands", _("Give at least one band: from which attainment (%) and at what rate (%)."))
        start = _decimal("bands", row.get("from", ""), Decimal(0), Decimal(10000))
        rate = _decimal("bands", row.get("rate", ""), Decimal(0), Decimal(100), places=4)
        if previous is None and start != 0:
            raise _invalid("bands", _("The first band starts at 0 %."))
        if previous is not None and start <= previous:
            raise _invalid("bands", _("Each band starts above the one before it."))
        previous = start
        out.append({"from": compute.plain(start), "rate": compute.plain(rate)})
    return out


def clean_plan(values: Mapping[str, Any]) -> dict[str, Any]:
    basis = str(values.get("basis") or "")
    if basis not in Basis.values:
        raise _invalid("basis", _("Select a valid choice."))
    mode = str(values.get("band_mode") or BandMode.MARGINAL)
    if mode not in BandMode.values:
        raise _invalid("band_mode", _("Select a valid choice."))
    accelerator = _decimal("accelerator", values.get("accelerator", "1") or "1", Decimal(1), Decimal(10))
    cap_raw = values.get("cap")
    cap = None if cap_raw in (None, "") else _decimal("cap", cap_raw, Decimal(0), Decimal("1e13"))
    return {
        "name": _name(values.get("name")),
        "basis": basis,
        "band_mode": mode,
        "bands": clean_bands(values.get("bands")),
        "accelerator": accelerator,
        "cap": cap,
        "is_active": bool(values.get("is_active", True)),
    }


def plan_save(*, actor: User, values: Mapping[str, Any], plan: CommissionPlan | None = None) -> CommissionPlan:
    """Create a plan, or change one (statements already generated keep the plan they were built with)."""
    _require_manage(actor)
    clean = clean_plan(values)
    with transaction.atomic():
        if plan is None:
            plan = CommissionPlan.objects.create(**clean)
            audit.record_created(actor=actor, obj=plan, values=audit.snapshot(plan, PLAN_FIELDS))
            return plan
        current = CommissionPlan.objects.select_for_update().get(pk=plan.pk)
        before = audit.snapshot(current, PLAN_FIELDS)
        for name, value in clean.items():
            setattr(current, name, value)
        current.updated_at = timezone.now()
        current.version += 1
        current.save()
        audit.record_changes(actor=actor, obj=current, before=before, after=audit.snapshot(current, PLAN_FIELDS))
    return current


def plan_assign(
    *,
    actor: User,
    plan: CommissionPlan,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    user: User | None = None,
    team: Team | None = None,
    role: Role | None = None,
) -> PlanAssignment:
    _require_manage(actor)
    if sum(x is not None for x in (user, team, role)) != 1:
        raise _invalid("target", _("Choose one rep, one team or one role."))
    if not isinstance(valid_from, dt.date):
        raise _invalid("valid_from", _("Enter a valid date."))
    if valid_to is not None and valid_to < valid_from:
        raise _invalid("valid_to", _("The end date cannot be before the start date."))
    with transaction.atomic():
        assignment = PlanAssignment.objects.create(
            plan=plan, user=user, team=team, role=role, valid_from=valid_from, valid_to=valid_to
        )
        audit.record_created(
            actor=actor,
            obj=assignment,
            values=audit.snapshot(assignment, ("plan_id", "user_id", "team_id", "role_id", "valid_from", "valid_to")),
        )
    return assignment


def plan_unassign(*, actor: User, assignment: PlanAssignment) -> None:
    _require_manage(actor)
    with transaction.atomic():
        values = audit.snapshot(assignment, ("plan_id", "user_id", "team_id", "role_id", "valid_from", "valid_to"))
        pk = assignment.pk
        assignment.delete()
        assignment.pk = pk
        audit.record_deleted(actor=actor, obj=assignment, values=values)


# ---- bonus rules and promotion criteria --------------------------------------------------------------


def bonus_rule_create(
    *, actor: User, name: str, min_total: Any, amount: Any, scorecard: Scorecard | None = None
) -> BonusRule:
    _require_manage(actor)
    clean = {
        "name": _name(name),
        "min_total": _decimal("min_total", min_total, Decimal(0), Decimal(10000)),
        "amount": _decimal("amount", amount, Decimal("0.01"), Decimal("1e13")),
        "scorecard": scorecard,
    }
    with transaction.atomic():
        rule = BonusRule.objects.create(**clean)
        audit.record_created(
            actor=actor, obj=rule, values=audit.snapshot(rule, ("name", "min_total", "amount", "scorecard_id"))
        )
    return rule


def bonus_rule_delete(*, actor: User, rule: BonusRule) -> None:
    _require_manage(actor)
    with transaction.atomic():
        values = audit.snapshot(rule, ("name", "min_total", "amount", "scorecard_id"))
        pk = rule.pk
        rule.delete()
        rule.pk = pk
        audit.record_deleted(actor=actor, obj=rule, values=values)


CRITERION_FIELDS = ("name", "min_score", "quarters", "course_id", "min_tenure_months")


def criterion_create(
    *,
    actor: User,
    name: str,
    min_score: Any = None,
    quarters: int = 3,
    course: TrainingCourse | None = None,
    min_tenure_months: Any = None,
) -> PromotionCriterion:
    _require_manage(actor)
    score = None if min_score in (None, "") else _decimal("min_score", min_score, Decimal(0), Decimal(10000))
    n = int(_decimal("quarters", quarters or 1, Decimal(1), Decimal(12), places=0))
    tenure = (
        None
        if min_tenure_months in (None, "")
        else int(_decimal("min_tenure_months", min_tenure_months, Decimal(0), Decimal(600), places=0))
    )
    if score is None and course is None and tenure is None:
        raise _invalid("min_score", _("Set at least one condition."))
    with transaction.atomic():
        crit = PromotionCriterion.objects.create(
            name=_name(name), min_score=score, quarters=n, course=course, min_tenure_months=tenure
        )
        audit.record_created(actor=actor, obj=crit, values=audit.snapshot(crit, CRITERION_FIELDS))
    return crit


def criterion_delete(*, actor: User, criterion: PromotionCriterion) -> None:
    _require_manage(actor)
    with transaction.atomic():
        values = audit.snapshot(criterion, CRITERION_FIELDS)
        pk = criterion.pk
        criterion.delete()
        criterion.pk = pk
        audit.record_deleted(actor=actor, obj=criterion, values=values)


# ---- statements ------------------------------------------------------------------------------------


def _rules(plan: CommissionPlan) -> compute.Rules:
    return compute.Rules(
        bands=tuple(compute.Band(Decimal(b["from"]), Decimal(b["rate"])) for b in plan.bands),
        whole=plan.band_mode == BandMode.WHOLE,
        accelerator=plan.accelerator,
        cap=plan.cap,
    )


def _snapshot(plan: CommissionPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "basis": plan.basis,
        "band_mode": plan.band_mode,
        "bands": plan.bands,
        "accelerator": str(plan.accelerator),
        "cap": None if plan.cap is None else str(plan.cap),
        "version": plan.version,
    }


class _Source:
    def __init__(
        self,
        key: str,
        amount: Decimal,
        on: dt.date,
        label: str,
        deal_id: int | None,
        payment_id: int | None,
        progress: Decimal | None = None,
        unpaid: str | None = None,
    ):
        self.key, self.amount, self.on, self.label = key, amount, on, label
        self.deal_id, self.payment_id = deal_id, payment_id
        # Margin plans: the signed amount (what moves attainment), and why a deal is not paid
        # ("margin_unknown" / "no_margin"), with the first line that has no cost in ``missing_line``.
        self.progress, self.unpaid, self.missing_line = progress, unpaid, ""


def _won_deals(user: User, period: Period) -> QuerySet[Deal]:
    """``user``'s won deals closed in ``period`` with an amount: what signed and margin plans pay on."""
    return (
        Deal.objects.filter(
            owner_id=user.pk,
            status=DealStatus.WON,
            deleted_at__isnull=True,
            closed_on__gte=period.start,
            closed_on__lte=period.end,
            amount_base__gt=0,
        )
        .select_related("customer")
        .order_by("closed_on", "pk")
    )


def _margin_sources(user: User, period: Period) -> list[_Source]:
    """Won deals of the period: paid on amount_base − cost_base, measured on amount_base. A deal with
    an unknown cost (no lines, or a line without a cost) or no positive margin is not paid; it is
    kept with a reason so the statement can say why. Two queries, whatever the number of deals."""
    deals = list(_won_deals(user, period))
    unknown = [d.pk for d in deals if d.cost_base is None]
    first_missing: dict[int, str] = {}
    for deal_id, name in (
        DealLine.objects.filter(deal_id__in=unknown, unit_cost__isnull=True)
        .order_by("deal_id", "order", "id")
        .values_list("deal_id", "name")
    ):
        first_missing.setdefault(deal_id, name)
    out: list[_Source] = []
    for deal in deals:
        assert deal.amount_base is not None
        assert deal.closed_on is not None
        label = f"{deal.name} · {deal.customer.name}"[:250]
        margin = None if deal.cost_base is None else deal.amount_base - deal.cost_base
        source = _Source(
            f"deal:{deal.pk}", margin if margin is not None and margin > 0 else Decimal(0), deal.closed_on, label,
            deal.pk, None, progress=deal.amount_base,
        )  # fmt: skip
        if margin is None:
            source.unpaid = "margin_unknown"
            source.missing_line = first_missing.get(deal.pk, "")
        elif margin <= 0:
            source.unpaid = "no_margin"
        out.append(source)
    return out


def _sources(user: User, period: Period, basis: str, base_currency: str) -> list[_Source]:
    out: list[_Source] = []
    if basis == Basis.MARGIN:
        return _margin_sources(user, period)
    if basis == Basis.SIGNED:
        deals = _won_deals(user, period)
        for deal in deals:
            assert deal.amount_base is not None
            assert deal.closed_on is not None
            label = f"{deal.name} · {deal.customer.name}"[:250]
            out.append(_Source(f"deal:{deal.pk}", deal.amount_base, deal.closed_on, label, deal.pk, None))
        return out
    payments = list(
        Payment.objects.filter(contract__owner_id=user.pk, received_on__gte=period.start, received_on__lte=period.end)
        .select_related("contract__customer")
        .order_by("received_on", "pk")
    )
    rates = None
    for p in payments:
        amount = p.amount
        if p.currency != base_currency:
            rates = rates or rates_on(period.end)
            amount = compute.cents(p.amount * rates.rate(p.currency))
        label = f"{p.contract.number} · {p.contract.customer.name}"[:250]
        out.append(_Source(f"payment:{p.pk}", amount, p.received_on, label, None, p.pk))
    return out


def _reversed_lines(user: User, exclude_statement: int | None) -> list[StatementLine]:
    """Commission and accelerator lines of the rep's approved statements whose source no longer
    holds (payment deleted; deal deleted, reopened or lost, or a contract of it terminated) and that
    no other statement has clawed back yet."""
    terminated = Contract.objects.filter(deal_id=OuterRef("deal_id"), status=ContractStatus.TERMINATED)
    taken = StatementLine.objects.filter(clawback_of_id=OuterRef("pk"))
    if exclude_statement is not None:
        taken = taken.exclude(statement_id=exclude_statement)
    gone = Q(source_ref__startswith="payment:", payment__isnull=True) | (
        Q(source_ref__startswith="deal:")
        & (
            Q(deal__isnull=True)
            | ~Q(deal__status=DealStatus.WON)
            | Q(deal__deleted_at__isnull=False)
            | Exists(terminated)
        )
    )
    return list(
        StatementLine.objects.filter(
            statement__user_id=user.pk,
            statement__status=StatementStatus.APPROVED,
            kind__in=(LineKind.COMMISSION, LineKind.ACCELERATOR),
        )
        .filter(gone)
        .exclude(Exists(taken))
        .select_related("statement", "deal")
        .order_by("statement__period_start", "position", "pk")
    )


REFUND_REF = "refund:"
PAID_KINDS = (LineKind.COMMISSION, LineKind.ACCELERATOR)


def _refund_clawbacks(
    user: User, period: Period, statement_id: int, computed: list[StatementLine]
) -> list[StatementLine]:
    """Clawback lines for refunds of payments that earned the rep commission (docs/incentives.md,
    "Refunds"). A refund dated up to the period's end that no other statement has taken yet is taken
    here: in the statement of its own period when generated in order, else in the next one generated
    (its own period's statement was approved before the refund was recorded). Each commission or
    accelerator line of the payment — in this statement (paid in the same period) or in another of
    the rep's statements — gives a line: the refunded share of its base at its rate, scaled if that
    statement was capped. A deleted refund whose clawback sits in an approved statement is given
    back once. Three queries, whatever the number of refunds."""
    taken = set(
        StatementLine.objects.filter(statement__user_id=user.pk, source_ref__startswith=REFUND_REF)
        .exclude(statement_id=statement_id)
        .values_list("source_ref", flat=True)
    )
    here = {row.payment_id: row for row in computed if row.kind in PAID_KINDS and row.payment_id}
    paid_elsewhere = StatementLine.objects.filter(
        statement__user_id=user.pk, kind__in=PAID_KINDS, payment_id__isnull=False
    ).exclude(statement_id=statement_id)
    refunds = [
        r
        for r in Refund.objects.filter(refunded_on__lte=period.end)
        .filter(Q(payment_id__in=paid_elsewhere.values("payment_id")) | Q(payment_id__in=list(here)))
        .select_related("payment")
        .order_by("refunded_on", "pk")
        if f"{REFUND_REF}{r.pk}" not in taken
    ]
    out: list[StatementLine] = []
    originals: dict[int, list[StatementLine]] = {}
    for row in computed:
        if row.kind in PAID_KINDS and row.payment_id:
            originals.setdefault(row.payment_id, []).append(row)
    earned_here = sum((row.amount for row in computed if row.kind in PAID_KINDS), Decimal(0))
    cap_here = sum((row.amount for row in computed if row.kind == LineKind.CAP), Decimal(0))
    factors: dict[int, tuple[Decimal, Decimal]] = {}
    elsewhere: dict[int, list[StatementLine]] = {}
    if refunds:
        for row in (
            paid_elsewhere.filter(payment_id__in={r.payment_id for r in refunds})
            .select_related("statement")
            .order_by("statement__period_start", "position", "pk")
        ):
            assert row.payment_id is not None
            elsewhere.setdefault(row.payment_id, []).append(row)
        factors = _cap_factors({row.statement_id for rows in elsewhere.values() for row in rows})
    for refund in refunds:
        share = compute.refund_share(refund.amount, refund.payment.amount)
        if refund.payment_id in originals:
            pairs = [(row, (earned_here, cap_here), period.code) for row in originals[refund.payment_id]]
        else:
            pairs = [
                (row, factors.get(row.statement_id, (Decimal(0), Decimal(0))), row.statement.period.code)
                for row in elsewhere.get(refund.payment_id, [])
            ]
        for original, (earned, cap), paid_in in pairs:
            if original.base_amount is None or original.rate is None:
                continue
            base, amount = compute.refund_clawback(original.base_amount, original.rate, share, earned, cap)
            if amount == 0:
                continue
            out.append(
                StatementLine(
                    kind=LineKind.CLAWBACK,
                    payment_id=refund.payment_id,
                    source_ref=f"{REFUND_REF}{refund.pk}",
                    source_label=original.source_label,
                    source_date=refund.refunded_on,
                    base_amount=base,
                    rate=original.rate,
                    band=paid_in,
                    amount=amount,
                )
            )
    out.extend(_deleted_refund_givebacks(user, statement_id))
    return out


def _deleted_refund_givebacks(user: User, statement_id: int) -> list[StatementLine]:
    """A refund deleted (a correction) after its clawback was approved: the clawback is given back
    once, as a positive line pointing to it."""
    given = StatementLine.objects.filter(clawback_of_id=OuterRef("pk")).exclude(statement_id=statement_id)
    approved = list(
        StatementLine.objects.filter(
            statement__user_id=user.pk,
            statement__status=StatementStatus.APPROVED,
            kind=LineKind.CLAWBACK,
            source_ref__startswith=REFUND_REF,
            clawback_of__isnull=True,  # a give-back line is not given back again
        )
        .exclude(Exists(given))
        .select_related("statement")
        .order_by("statement__period_start", "position", "pk")
    )
    if not approved:
        return []
    ids = {int(row.source_ref[len(REFUND_REF) :]) for row in approved if row.source_ref[len(REFUND_REF) :].isdigit()}
    alive = set(Refund.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [
        StatementLine(
            kind=LineKind.CLAWBACK,
            payment_id=row.payment_id,
            source_ref=row.source_ref,
            source_label=row.source_label,
            source_date=row.source_date,
            base_amount=row.base_amount,
            rate=row.rate,
            band=row.statement.period.code,
            amount=-row.amount,
            clawback_of=row,
        )
        for row in approved
        if int(row.source_ref[len(REFUND_REF) :] or 0) not in alive
    ]


def _cap_factors(statement_ids: set[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """Per statement: (commission + accelerator earned, cap adjustment)."""
    out: dict[int, tuple[Decimal, Decimal]] = {}
    rows = (
        StatementLine.objects.filter(statement_id__in=statement_ids)
        .values("statement_id", "kind")
        .annotate(s=Sum("amount"))
        .values_list("statement_id", "kind", "s")
    )
    for sid, kind, total in rows:
        earned, cap = out.get(sid, (Decimal(0), Decimal(0)))
        if kind == LineKind.CAP:
            cap += total
        elif kind in (LineKind.COMMISSION, LineKind.ACCELERATOR):
            earned += total
        out[sid] = (earned, cap)
    return out


def _bonus_for(entry: Any, rules: list[BonusRule]) -> BonusRule | None:
    best = None
    for rule in rules:
        if rule.scorecard_id not in (None, entry.evaluation.scorecard_id) or entry.total < rule.min_total:
            continue
        if best is None or (rule.min_total, rule.amount) > (best.min_total, best.amount):
            best = rule
    return best


def statement_generate(*, actor: User, user: User, period: Period) -> Statement:
    """Build (or rebuild, while it is a draft) ``user``'s statement for ``period``.

    Needs ``statements.approve`` over the rep's team (not one's own statement). An approved
    statement is refused with ``locked``.
    """
    if not selectors.reps_for_approval(actor).filter(pk=user.pk).exists():
        raise _forbidden()
    statement = _generate(actor=actor, user=user, period=period, base_currency=CompanyProfile.current().base_currency)
    assert statement is not None
    return statement


def _generate(
    *, actor: User | None, user: User, period: Period, base_currency: str, keep_empty: bool = True
) -> Statement | None:
    """``statement_generate`` once the actor's right over ``user`` is checked (``actor`` None: the
    month-end task). With ``keep_empty`` false, a statement that would be new, under no plan and
    without a line is not made (None)."""
    with transaction.atomic():
        statement = (
            Statement.objects.select_for_update()
            .filter(user_id=user.pk, period_start=period.start, period_end=period.end)
            .first()
        )
        if statement is not None and statement.is_locked:
            raise ApplicationError("locked", _("This statement is approved and locked; it cannot change."))
        plan = selectors.plan_for(user, period)
        created = statement is None
        if statement is None:
            statement = Statement(user=user, period_kind=period.kind, period_start=period.start, period_end=period.end)
        statement.plan = plan
        statement.plan_snapshot = _snapshot(plan) if plan else {}
        statement.currency = base_currency
        statement.generated_at = timezone.now()
        statement.generated_by = actor
        statement.basis_total = Decimal(0)
        statement.target = None
        statement.attainment = None
        statement.total = Decimal(0)
        statement.save()
        statement.lines.all().delete()
        lines: list[StatementLine] = []
        if plan is not None:
            sources = _sources(user, period, plan.basis, base_currency)
            by_key = {s.key: s for s in sources}
            # A margin plan measures attainment against the signed-amount target (docs/incentives.md).
            measure = Measure.COLLECTED_AMOUNT if plan.basis == Basis.COLLECTED else Measure.SIGNED_AMOUNT
            target = rep_target_amounts(measure=measure, period=period, user_ids=[user.pk]).get(user.pk)
            items = [compute.Item(s.key, s.amount, s.progress) for s in sources]
            result = compute.commission(items, target, _rules(plan))
            statement.basis_total = result.basis
            statement.target = target
            statement.attainment = result.attainment
            unpaid = {s.key: s for s in sources if s.unpaid}
            for computed in result.lines:
                source = by_key.get(computed.key)
                lines.append(
                    StatementLine(
                        kind=computed.kind,
                        deal_id=source.deal_id if source else None,
                        payment_id=source.payment_id if source else None,
                        source_ref=computed.key,
                        source_label=source.label if source else "",
                        source_date=source.on if source else None,
                        base_amount=computed.base,
                        rate=computed.rate,
                        band=computed.band,
                        amount=computed.amount,
                    )
                )
            for source in unpaid.values():
                # Traceable, zero-amount lines saying why a won deal earned nothing: the reason code
                # in ``band`` ("margin_unknown: <first line without a cost>" or "no_margin").
                reason = source.unpaid or ""
                if source.missing_line:
                    reason = f"{reason}:{source.missing_line}"
                lines.append(
                    StatementLine(
                        kind=LineKind.NOT_PAID,
                        deal_id=source.deal_id,
                        source_ref=source.key,
                        source_label=source.label,
                        source_date=source.on,
                        base_amount=source.progress,
                        rate=None,
                        band=reason[:40],
                        amount=Decimal(0),
                    )
                )
        reversed_lines = _reversed_lines(user, statement.pk)
        factors = _cap_factors({r.statement_id for r in reversed_lines})
        for original in reversed_lines:
            earned, cap = factors.get(original.statement_id, (Decimal(0), Decimal(0)))
            lines.append(
                StatementLine(
                    kind=LineKind.CLAWBACK,
                    deal_id=original.deal_id,
                    source_ref=original.source_ref,
                    source_label=original.source_label,
                    source_date=original.source_date,
                    base_amount=original.base_amount,
                    rate=original.rate,
                    band=original.statement.period.code,
                    amount=compute.clawback_amount(original.amount, earned, cap),
                    clawback_of=original,
                )
            )
        lines.extend(_refund_clawbacks(user, period, statement.pk, lines))
        rules = list(BonusRule.objects.filter(is_active=True))
        for entry in selectors.locked_entries_for(user_id=user.pk, period=period):
            rule = _bonus_for(entry, rules)
            if rule is None:
                continue
            evaluation = entry.evaluation
            lines.append(
                StatementLine(
                    kind=LineKind.BONUS,
                    source_ref=f"evaluation:{evaluation.pk}",
                    source_label=f"{evaluation.scorecard.name} {evaluation.period.code} · {entry.total}",
                    source_date=evaluation.period_end,
                    base_amount=None,
                    band=rule.name[:40],
                    amount=rule.amount,
                    evaluation_entry=entry,
                    bonus_rule=rule,
                )
            )
        if created and plan is None and not lines and not keep_empty:
            statement.delete()
            return None
        for position, row in enumerate(lines, start=1):
            row.statement = statement
            row.position = position
        StatementLine.objects.bulk_create(lines)
        statement.total = sum((row.amount for row in lines), Decimal(0))
        statement.save(update_fields=["basis_total", "target", "attainment", "total"])
        audit.record_event(
            actor=actor,
            event="statement_generated",
            obj=statement,
            details={"period": period.code, "total": str(statement.total), "lines": len(lines)},
        )
    return statement


def _approved_user_ids(period: Period) -> set[int]:
    """The people whose statement of ``period`` is approved: never regenerated."""
    return set(
        Statement.objects.filter(
            period_start=period.start, period_end=period.end, status=StatementStatus.APPROVED
        ).values_list("user_id", flat=True)
    )


def statements_prepare(*, period: Period) -> int:
    """The month-end run (a task, no actor): the draft statement of ``period`` for every active
    person with a plan, a clawback or a bonus in it, so approvers find them ready to review.
    Approved statements are left alone and drafts are rebuilt, so a second run changes nothing.
    Each person's statement commits on its own: one bad record cannot hold back everyone's."""
    locked = _approved_user_ids(period)
    count = 0
    base_currency = CompanyProfile.current().base_currency
    for user in User.objects.filter(is_active=True).exclude(pk__in=locked).order_by("username"):
        if _generate(actor=None, user=user, period=period, base_currency=base_currency, keep_empty=False):
            count += 1
    return count


def statements_generate(*, actor: User, period: Period) -> int:
    """Generate every draft statement of the period for the people ``actor`` approves; approved ones
    are left alone, and nobody gets a new empty statement (no plan, no clawback, no bonus). Returns
    how many were (re)built."""
    if not policies.may_approve_any(actor):
        raise _forbidden()
    locked = _approved_user_ids(period)
    count = 0
    base_currency = CompanyProfile.current().base_currency
    with transaction.atomic():  # one transaction: one commit for the whole team
        for user in selectors.reps_for_approval(actor).select_related("team"):
            if user.pk in locked:
                continue
            if _generate(actor=actor, user=user, period=period, base_currency=base_currency, keep_empty=False):
                count += 1
    return count


def statement_approve(*, actor: User, statement: Statement) -> Statement:
    """Approve and lock a draft statement; the rep is told (STATEMENT_READY)."""
    if not policies.may_approve(actor, statement):
        raise _forbidden()
    with transaction.atomic():
        current = Statement.objects.select_for_update().select_related("user").get(pk=statement.pk)
        if current.is_locked:
            raise ApplicationError("locked", _("This statement is approved and locked; it cannot change."))
        current.status = StatementStatus.APPROVED
        current.approved_at = timezone.now()
        current.approved_by = actor
        current.save(update_fields=["status", "approved_at", "approved_by"])
        audit.record_changes(
            actor=actor, obj=current, before={"status": StatementStatus.DRAFT}, after={"status": current.status}
        )
        notification_create(
            recipient=current.user,
            kind=NotificationKind.STATEMENT_READY,
            params={"period": current.period.code, "total": str(current.total), "currency": current.currency},
            url=reverse("incentives:statement", kwargs={"statement_id": current.pk}),
        )
    return current
