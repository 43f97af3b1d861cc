"""Forms for custom fields: the admin's definition form, and the typed form fields that the
customer, contact and deal forms add for the fields an actor sees (``add_fields``).

Form fields only parse; ``values.coerce`` (through the services) validates by type, so the web,
the API and imports refuse the same values with the same messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm
from bridgecrm.customization import values
from bridgecrm.customization.models import Entity, FieldDefinition, FieldType
from bridgecrm.users.models import Role, User

PREFIX = "custom."


def form_name(field: FieldDefinition) -> str:
    return f"{PREFIX}{field.key}"


class DefinitionForm(BridgeForm):
    entity = forms.ChoiceField(label=_("Record type"), choices=Entity.choices)
    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    label_en = forms.CharField(label=_("Label (English)"), max_length=80)
    label_zh = forms.CharField(label=_("Label (Chinese)"), max_length=80, required=False)
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        required=False,
        help_text=_(
            "Used in the API, imports and exports; made from the English label when left empty. It never changes."
        ),
    )
    help_en = forms.CharField(label=_("Help text (English)"), max_length=200, required=False)
    help_zh = forms.CharField(label=_("Help text (Chinese)"), max_length=200, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    default = forms.CharField(
        label=_("Default"),
        max_length=200,
        required=False,
        help_text=_("Filled in on new records. For a multiple select, separate options with commas."),
    )
    options = forms.CharField(
        label=_("Options"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "gold | Gold | 金牌\nsilver | Silver | 银牌"}),
        help_text=_("For selects: one option per line, as value | English label | Chinese label."),
    )
    visible_to = forms.ModelMultipleChoiceField(
        label=_("Visible to"),
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every role sees the field."),
    )
    editable_by = forms.ModelMultipleChoiceField(
        label=_("Editable by"),
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every role that sees the field may edit it."),
    )
    section = forms.CharField(
        label=_("Form section"), max_length=60, required=False, help_text=_("Fields of one section show together.")
    )
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=10_000, required=False)

    def __init__(self, *args: Any, instance: FieldDefinition | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", initial_of(instance))
        super().__init__(*args, **kwargs)
        self.instance = instance
        for name in ("visible_to", "editable_by"):
            self.fields[name].queryset = Role.objects.order_by("id")  # type: ignore[attr-defined]
        if instance is not None:
            for name in ("entity", "type", "key"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.instance is not None:
            for name in ("entity", "type", "key"):
                data.pop(name, None)
        data["visible_to"] = list(data.get("visible_to") or [])
        data["editable_by"] = list(data.get("editable_by") or [])
        return data


def initial_of(field: FieldDefinition) -> dict[str, Any]:
    default = field.default
    if isinstance(default, list):
        default = ", ".join(str(v) for v in default)
    elif isinstance(default, bool):
        default = "yes" if default else "no"
    return {
        "entity": field.entity,
        "type": field.type,
        "key": field.key,
        "label_en": field.label_en,
        "label_zh": field.label_zh,
        "help_en": field.help_en,
        "help_zh": field.help_zh,
        "required": field.required,
        "default": "" if default is None else str(default),
        "options": "\n".join(f"{o['value']} | {o['label_en']} | {o['label_zh']}" for o in field.options or []),
        "visible_to": [r.pk for r in field.visible_to.all()],
        "editable_by": [r.pk for r in field.editable_by.all()],
        "section": field.section,
        "position": field.position,
    }


# ---- typed form fields for records -------------------------------------------------------------


def _input(kind: str) -> forms.TextInput:
    return forms.TextInput(attrs={"type": kind})


def _choices(field: FieldDefinition) -> list[tuple[str, str]]:
    return [(str(o.get("value")), field.option_label(str(o.get("value")))) for o in field.options or []]


def form_field(field: FieldDefinition, *, people: list[tuple[int, str]], editable: bool) -> forms.Field:
    """A lenient form field with a typed widget; the services validate the value."""
    common: dict[str, Any] = {
        "label": field.label,
        "required": field.required and editable,
        "help_text": field.help_text,
        "disabled": not editable,
    }
    match field.type:
        case FieldType.LONG_TEXT:
            return forms.CharField(
                max_length=values.MAX_LONG_TEXT, widget=forms.Textarea(attrs={"rows": 3}), strip=True, **common
            )
        case FieldType.NUMBER | FieldType.MONEY:
            step = "0.01" if field.type == FieldType.MONEY else "any"
            return forms.CharField(
                max_length=40, widget=forms.TextInput(attrs={"type": "number", "step": step}), **common
            )
        case FieldType.DATE:
            return forms.CharField(max_length=40, widget=_input("date"), **common)
        case FieldType.DATETIME:
            return forms.CharField(max_length=40, widget=_input("datetime-local"), **common)
        case FieldType.SINGLE_SELECT:
            return forms.ChoiceField(choices=[("", "—"), *_choices(field)], **common)
        case FieldType.MULTI_SELECT:
            return forms.MultipleChoiceField(choices=_choices(field), widget=forms.CheckboxSelectMultiple, **common)
        case FieldType.CHECKBOX:
            return forms.BooleanField(**{**common, "required": False})
        case FieldType.USER:
            return forms.ChoiceField(choices=[("", "—"), *[(str(pk), name) for pk, name in people]], **common)
        case FieldType.URL:
            return forms.CharField(max_length=values.MAX_TEXT, widget=_input("url"), **common)
        case FieldType.EMAIL:
            return forms.CharField(max_length=values.MAX_TEXT, widget=_input("email"), **common)
        case FieldType.PHONE:
            return forms.CharField(max_length=40, widget=_input("tel"), **common)
    return forms.CharField(max_length=values.MAX_TEXT, **common)


def _initial(field: FieldDefinition, value: Any) -> Any:
    if value is None:
        return None
    if field.type == FieldType.DATETIME and isinstance(value, str):
        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        moment = parse_datetime(value)
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment is not None else value
    if field.type == FieldType.USER:
        return str(value)
    return value


def add_fields(
    form: forms.Form,
    *,
    visible: list[FieldDefinition],
    editable: list[FieldDefinition],
    actor: User,
    current: Mapping[str, Any] | None = None,
    creating: bool = False,
) -> None:
    """Add a form field ``custom.<key>`` per visible field, in form order; the ones the actor may not
    edit are read-only (disabled: the browser sends nothing and Django keeps the stored value)."""
    editable_keys = {f.key for f in editable}
    people: list[tuple[int, str]] = []
    if any(f.type == FieldType.USER for f in visible):
        people = [
            (pk, full or name)
            for pk, full, name in User.objects.visible_to(actor)
            .filter(is_active=True)
            .values_list("pk", "full_name", "username")
        ]
    stored = current or {}
    for field in visible:
        name = form_name(field)
        form.fields[name] = form_field(field, people=people, editable=field.key in editable_keys)
        value = stored.get(field.key) if not creating else field.default
        if value is not None:
            form.initial[name] = _initial(field, value)
    form.custom_names = [form_name(f) for f in visible]  # type: ignore[attr-defined]
    form.custom_sections = sections(form, visible)  # type: ignore[attr-defined]


def sections(form: forms.Form, fields: list[FieldDefinition]) -> list[tuple[str, list[Any]]]:
    """(section title, bound fields) in form order, for templates that group them."""
    result: list[tuple[str, list[Any]]] = []
    for field in fields:
        if not result or result[-1][0] != field.section:
            result.append((field.section, []))
        result[-1][1].append(form[form_name(field)])
    return result


def pop_submitted(data: dict[str, Any], editable: list[FieldDefinition]) -> dict[str, Any]:
    """Take the ``custom.<key>`` entries out of a form's cleaned data: {key: raw} for editable ones."""
    keys = {f.key for f in editable}
    result: dict[str, Any] = {}
    for name in [n for n in data if n.startswith(PREFIX)]:
        value = data.pop(name)
        key = name.removeprefix(PREFIX)
        if key in keys:
            result[key] = value
    return result


# ---- list filters ------------------------------------------------------------------------------

YES_NO = [("", "—"), ("1", _("Yes")), ("0", _("No"))]


def add_filter_fields(form: forms.Form, *, entity: str, actor: User) -> None:
    """Filter fields for the custom fields the actor sees, named as the query parameters
    (``cf_<key>``: contains for texts, equals for choices; ``cf_<key>__min``/``__max`` for numbers,
    money and dates; ``cf_<key>__set``: filled in or not), and custom sorts in ``sort``."""
    from bridgecrm.customization import selectors

    fields = selectors.fields_for(entity, actor)
    people: list[tuple[int, str]] = []
    if any(f.type == FieldType.USER for f in fields):
        people = [
            (pk, full or name)
            for pk, full, name in User.objects.visible_to(actor)
            .filter(is_active=True)
            .values_list("pk", "full_name", "username")
        ]
    for field in fields:
        name = f"{selectors.PARAM_PREFIX}{field.key}"
        label = field.label
        if field.type in selectors.RANGE_TYPES:
            kind = {"date": "date", "datetime": "date"}.get(field.type, "number")
            widget = forms.TextInput(attrs={"type": kind, "step": "any"} if kind == "number" else {"type": kind})
            form.fields[f"{name}__min"] = forms.CharField(
                label=_("%(field)s from") % {"field": label}, required=False, max_length=40, widget=widget
            )
            form.fields[f"{name}__max"] = forms.CharField(
                label=_("%(field)s to") % {"field": label}, required=False, max_length=40, widget=widget
            )
        elif field.type in (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT):
            form.fields[name] = forms.ChoiceField(label=label, choices=[("", "—"), *_choices(field)], required=False)
        elif field.type == FieldType.CHECKBOX:
            form.fields[name] = forms.ChoiceField(label=label, choices=YES_NO, required=False)
        elif field.type == FieldType.USER:
            choices = [("", "—"), *[(str(pk), n) for pk, n in people]]
            form.fields[name] = forms.ChoiceField(label=label, choices=choices, required=False)
        else:
            form.fields[name] = forms.CharField(label=label, required=False, max_length=100)
        if field.type != FieldType.CHECKBOX:
            form.fields[f"{name}__set"] = forms.ChoiceField(
                label=_("%(field)s filled in") % {"field": label}, choices=YES_NO, required=False
            )
    sort = form.fields.get("sort")
    if isinstance(sort, forms.ChoiceField):
        sort.choices = [*list(sort.choices), *selectors.sort_choices(entity, actor)]  # type: ignore[arg-type]
        if hasattr(sort.widget, "choices"):
            sort.widget.choices = sort.choices
    form.custom_entity = entity  # type: ignore[attr-defined]
    form.custom_actor = actor  # type: ignore[attr-defined]


def clean_filter_fields(form: forms.Form) -> None:
    """Check each custom filter's value by its field's type (call from ``clean``)."""
    from bridgecrm.core.errors import ApplicationError
    from bridgecrm.customization import selectors

    entity = getattr(form, "custom_entity", None)
    if entity is None:
        return
    by_key = {f.key: f for f in selectors.fields_for(entity, form.custom_actor)}  # type: ignore[attr-defined]
    for name, raw in filter_values(form):
        key, _sep, op = name.removeprefix(selectors.PARAM_PREFIX).partition("__")
        field = by_key.get(key)
        if field is None:
            continue
        try:
            selectors.condition(field, op, raw)
        except ApplicationError as exc:
            form.add_error(name if name in form.fields else None, str(exc.message))


def filter_values(form: forms.Form) -> tuple[tuple[str, str], ...]:
    """The custom filters the form holds, as (parameter, value) pairs."""
    data = getattr(form, "cleaned_data", {}) or {}
    pairs = []
    for name, value in data.items():
        if name.startswith("cf_") and value not in (None, ""):
            pairs.append((name, str(value).strip()))
    return tuple(sorted(pairs))
