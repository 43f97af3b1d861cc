"""The custom field admin pages (``fields.manage``): list, add, edit, delete (archive), restore, order."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bridgecrm.core import selectors as audit_selectors
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customization import forms, policies, selectors, services
from bridgecrm.customization.models import Entity, FieldDefinition
from bridgecrm.users.viewtools import actor_of, guarded, require, save_form


@guarded
def field_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    fields = selectors.definition_list(actor=actor)
    groups = [
        (value, label, [f for f in fields if f.entity == value and f.archived_at is None])
        for value, label in Entity.choices
    ]
    return render(
        request,
        "customization/field_list.html",
        {
            "groups": groups,
            "archived": [f for f in fields if f.archived_at is not None],
            "history": audit_selectors.model_history(model=FieldDefinition, limit=20),
        },
    )


@guarded
def field_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    entity = request.GET.get("entity", "")
    initial = {"entity": entity if entity in Entity.values else Entity.CUSTOMER}
    form = forms.DefinitionForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and (field := save_form(form, lambda: services.field_create(actor=actor, **form.service_kwargs()))) is not None
    ):
        messages.success(request, _("The field %(label)s was added.") % {"label": field.label})
        return redirect("customization:fields")
    return render(request, "customization/field_form.html", {"form": form, "field": None})


@guarded
def field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    field = selectors.definition_get(actor=actor, field_id=field_id)
    form = forms.DefinitionForm(request.POST or None, instance=field)
    if (
        request.method == "POST"
        and save_form(form, lambda: services.field_update(actor=actor, field=field, **form.service_kwargs()))
        is not None
    ):
        messages.success(request, _("The field was saved."))
        return redirect("customization:fields")
    return render(request, "customization/field_form.html", {"form": form, "field": field})


@require_POST
@guarded
def field_archive(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    field = services.field_archive(actor=actor, field=selectors.definition_get(actor=actor, field_id=field_id))
    messages.success(request, _("The field %(label)s was deleted; its values are kept.") % {"label": field.label})
    return redirect("customization:fields")


@require_POST
@guarded
def field_restore(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    field = selectors.definition_get(actor=actor, field_id=field_id)
    try:
        services.field_restore(actor=actor, field=field)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The field %(label)s is back.") % {"label": field.label})
    return redirect("customization:fields")


@require_POST
@guarded
def field_move(request: HttpRequest, field_id: int) -> HttpResponse:
    actor = actor_of(request)
    require(policies.may_manage(actor))
    field = selectors.definition_get(actor=actor, field_id=field_id)
    services.field_move(actor=actor, field=field, up=request.POST.get("direction") == "up")
    return redirect("customization:fields")
