"""Scorecard pages: definitions, runs, the review of an evaluation, entries, what-if and history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.scorecards import forms, policies, scoring, selectors, services
from bridgecrm.scorecards.models import EvaluationStatus
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of, export_response, guarded, require
from bridgecrm.users.viewtools import form_errors as _form_errors

NEXT_LABELS = {
    EvaluationStatus.IN_REVIEW: gettext_lazy("Start the review"),
    EvaluationStatus.PUBLISHED: gettext_lazy("Publish to the reps"),
    EvaluationStatus.LOCKED: gettext_lazy("Lock for good"),
}


@guarded
def scorecard_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    cards = list(selectors.scorecards(actor=actor).prefetch_related("metrics"))
    evaluations = list(selectors.evaluations(actor=actor).order_by("-period_start", "scorecard__name")[:50])
    return render(
        request,
        "scorecards/list.html",
        {"scorecards": cards, "evaluations": evaluations, "may_manage": policies.may_manage(actor)},
    )


@guarded
def scorecard_detail(request: HttpRequest, scorecard_id: int) -> HttpResponse:
    actor = actor_of(request)
    card = selectors.scorecard(actor=actor, scorecard_id=scorecard_id)
    today = timezone.localdate()
    rows = [
        (m, selectors.metric_label(m.code), selectors.format_value(m.code, m.target_value)) for m in card.metrics.all()
    ]
    return render(
        request,
        "scorecards/detail.html",
        {
            "scorecard": card,
            "rows": rows,
            "evaluations": selectors.evaluations(actor=actor).filter(scorecard=card).order_by("-period_start"),
            "run_form": forms.RunForm(kind=card.period_kind, today=today),
            "may_manage": policies.may_manage(actor),
        },
    )


@guarded
def scorecard_edit(request: HttpRequest, scorecard_id: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    card = selectors.scorecard(actor=actor, scorecard_id=scorecard_id) if scorecard_id else None
    status = 200
    if request.method == "POST":
        form = forms.ScorecardForm(request.POST, scorecard=card)
        if form.is_valid():
            try:
                saved = services.scorecard_save(actor=actor, values=form.values(), scorecard=card)
            except (PermissionDenied, NotFound):
                raise
            except ApplicationError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("The scorecard was saved."))
                return redirect("scorecards:detail", scorecard_id=saved.pk)
        else:
            status = 400
    else:
        form = forms.ScorecardForm(scorecard=card)
    return render(request, "scorecards/edit.html", {"form": form, "scorecard": card}, status=status)


@guarded
@require_POST
def evaluation_run(request: HttpRequest, scorecard_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    card = selectors.scorecard(actor=actor, scorecard_id=scorecard_id)
    form = forms.RunForm(request.POST, kind=card.period_kind, today=timezone.localdate())
    if not form.is_valid():
        messages.error(request, _("Choose a period."))
        return redirect("scorecards:detail", scorecard_id=card.pk)
    try:
        evaluation = services.evaluation_run(actor=actor, scorecard=card, period=form.period_value())
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("scorecards:detail", scorecard_id=card.pk)
    messages.success(request, _("The evaluation was run: review the draft."))
    return redirect("scorecards:evaluation", evaluation_id=evaluation.pk)


@guarded
def evaluation_detail(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    actor = actor_of(request)
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    entries = list(selectors.evaluation_entries(actor=actor, evaluation=evaluation))
    codes = [m["code"] for m in evaluation.definition.get("metrics", [])]
    rows = []
    for e in entries:
        lines = {line.code: line for line in selectors.breakdown_lines(e)}
        rows.append((e, [lines.get(c) for c in codes], selectors.difficulty(e)))
    nxt = services.NEXT.get(EvaluationStatus(evaluation.status))
    return render(
        request,
        "scorecards/evaluation.html",
        {
            "evaluation": evaluation,
            "rows": rows,
            "columns": [
                (m["code"], selectors.metric_label(m["code"]), selectors.plain(m["weight"]))
                for m in evaluation.definition.get("metrics", [])
            ],
            "may_manage": policies.may_manage(actor),
            "next_status": nxt,
            "next_label": NEXT_LABELS.get(nxt) if nxt else None,
        },
    )


@guarded
@require_POST
def evaluation_advance(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    try:
        services.evaluation_advance(actor=actor, evaluation=evaluation, to=request.POST.get("to", ""))
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The evaluation is now: %(status)s.") % {"status": evaluation.get_status_display()})
    return redirect("scorecards:evaluation", evaluation_id=evaluation.pk)


@guarded
def what_if(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    rules = [scoring.Rule.from_json(m) for m in evaluation.definition.get("metrics", [])]
    form = forms.WhatIfForm(request.POST or None, rules=rules)
    rows: list[services.WhatIfRow] | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            new_rules = form.rules()
            if form.is_valid():
                try:
                    rows = services.evaluation_what_if(actor=actor, evaluation=evaluation, rules=new_rules)
                except (PermissionDenied, NotFound):
                    raise
                except ApplicationError as exc:
                    _form_errors(form, exc)
                    status = 400
            else:
                status = 400
        else:
            status = 400
    template = "scorecards/what_if_result.html" if request.headers.get("HX-Request") else "scorecards/what_if.html"
    return render(request, template, {"evaluation": evaluation, "form": form, "rows": rows}, status=status)


@guarded
def evaluation_export(request: HttpRequest, evaluation_id: int) -> HttpResponseBase:
    actor = actor_of(request)
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    codes = [m["code"] for m in evaluation.definition.get("metrics", [])]
    header = [_("Rank"), _("Rep"), _("Team"), _("Total")]
    for c in codes:
        header += [selectors.metric_label(c), _("Points")]
    header.append(_("Target difficulty"))

    def rows() -> Any:
        for e in selectors.evaluation_entries(actor=actor, evaluation=evaluation).iterator():
            lines = {x["code"]: x for x in e.breakdown.get("metrics", [])}
            cells: list[Any] = [e.rank, e.user.display_name, str(e.team or ""), e.total]
            for c in codes:
                x = lines.get(c) or {}
                adjusted = x.get("adjusted")
                cells += [x.get("raw"), (adjusted or {}).get("points") or x.get("points")]
            cells.append(e.breakdown.get("difficulty"))
            yield cells

    return export_response(request, name=f"evaluation-{evaluation.pk}", header=header, rows=rows())


@guarded
def entry_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    actor = actor_of(request)
    entry = selectors.entry(actor=actor, entry_id=entry_id)
    lines = selectors.breakdown_lines(entry)
    evaluation = entry.evaluation
    in_review = evaluation.status == EvaluationStatus.IN_REVIEW
    may_review = in_review and policies.may_review_entry(actor, entry)
    return render(
        request,
        "scorecards/entry.html",
        {
            "entry": entry,
            "evaluation": evaluation,
            "lines": lines,
            "difficulty": selectors.difficulty(entry),
            "comments": entry.comments.select_related("author"),
            "adjustments": [(a, selectors.metric_label(a.metric)) for a in entry.adjustments.select_related("by")],
            "may_review": may_review,
            "may_acknowledge": evaluation.status == EvaluationStatus.PUBLISHED
            and policies.may_acknowledge(actor, entry)
            and entry.acknowledged_at is None,
            "comment_form": forms.CommentForm(),
            "adjust_form": forms.AdjustForm(codes=[(line.code, line.label) for line in lines]),
        },
    )


def _entry_action(request: HttpRequest, entry_id: int, action: Any) -> HttpResponse:
    actor = actor_of(request)
    entry = selectors.entry(actor=actor, entry_id=entry_id)
    try:
        done = action(actor, entry)
    except NotFound:
        raise
    except ApplicationError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        messages.error(request, str(exc.message))
    else:
        if done:
            messages.success(request, done)
    return redirect("scorecards:entry", entry_id=entry.pk)


@guarded
@require_POST
def entry_comment(request: HttpRequest, entry_id: int) -> HttpResponse:
    def action(actor: User, entry: Any) -> str:
        services.entry_comment(actor=actor, entry=entry, text=request.POST.get("text", ""))
        return _("Your comment was added.")

    return _entry_action(request, entry_id, action)


@guarded
@require_POST
def entry_adjust(request: HttpRequest, entry_id: int) -> HttpResponse:
    def action(actor: User, entry: Any) -> str:
        services.entry_adjust(
            actor=actor,
            entry=entry,
            metric=request.POST.get("metric", ""),
            points=request.POST.get("points", ""),
            reason=request.POST.get("reason", ""),
        )
        return _("The score was adjusted; totals and ranks were recomputed.")

    return _entry_action(request, entry_id, action)


@guarded
@require_POST
def entry_acknowledge(request: HttpRequest, entry_id: int) -> HttpResponse:
    def action(actor: User, entry: Any) -> str:
        services.entry_acknowledge(actor=actor, entry=entry)
        return _("Thank you: your evaluation is acknowledged.")

    return _entry_action(request, entry_id, action)


@guarded
def history(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    person = User.objects.visible_to(actor).filter(pk=user_id).first()
    if person is None:
        raise NotFound("not_found", _("Not found."))
    entries = list(selectors.history(actor=actor, user_id=person.pk)[:100])
    return render(
        request,
        "scorecards/history.html",
        {"person": person, "entries": [(e, selectors.difficulty(e)) for e in entries]},
    )
