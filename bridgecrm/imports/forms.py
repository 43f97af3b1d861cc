"""The import wizard's forms: upload (kind and file) and the column mapping with the options."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.forms import assignable_people
from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.imports import kinds
from bridgecrm.imports.models import ImportKind, OnDuplicate
from bridgecrm.users.models import User

ACCEPT = ".csv,.txt,.xlsx,.vcf,text/csv,text/vcard,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def kind_choices() -> list[tuple[str, Any]]:
    """The kinds the engine offers, in the model's order."""
    return [(code, label) for code, label in ImportKind.choices if code in kinds.KINDS]


class UploadForm(BridgeForm):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=())
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK), Excel .xlsx or vCard .vcf; at most 50 MB and 250,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]


def column_field_name(index: int) -> str:
    return f"col_{index}"


class MappingForm(BridgeForm):
    """One select per column of the file (``col_<i>``), then the options of the run."""

    external_id_column = forms.ChoiceField(
        label=_("External id column"),
        required=False,
        help_text=_("The record's id in the system the file came from: a second run of the same file changes nothing."),
        widget=FastSelect,
    )
    on_duplicate = forms.ChoiceField(
        label=_("When a row duplicates an existing record"),
        choices=OnDuplicate.choices,
        initial=OnDuplicate.SKIP,
        widget=forms.RadioSelect,
    )
    blank_clears = forms.BooleanField(
        label=_("Empty cells clear fields"),
        required=False,
        help_text=_(
            "When a row updates an existing record, an empty cell in a mapped column empties that field. "
            "Otherwise empty cells leave the record as it is."
        ),
    )
    default_owner = forms.ModelChoiceField(
        label=_("Default owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Me"),
        help_text=_("For rows without an owner column, or with an empty one."),
        widget=FastSelect,
    )
    save_as = forms.CharField(
        label=_("Save this mapping as"),
        required=False,
        max_length=80,
        help_text=_("Optional: a file with the same columns gets this mapping next time."),
    )

    def __init__(
        self,
        *args: Any,
        actor: User,
        headers: list[str],
        targets: list[tuple[str, str]],
        samples: list[list[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.samples = samples
        skip: list[tuple[str, Any]] = [("", _("— do not import —"))]
        columns: dict[str, forms.Field] = {}
        for index, header in enumerate(headers):
            columns[column_field_name(index)] = forms.ChoiceField(
                label=header, required=False, choices=skip + targets, widget=FastSelect
            )
        self.fields = {**columns, **self.fields}
        self.fields["external_id_column"].choices = [("", _("None"))] + [(h, h) for h in headers]  # type: ignore[attr-defined]
        people = assignable_people(actor)
        self.fields["default_owner"].queryset = User.objects.filter(pk__in=[p.pk for p in people]).order_by(  # type: ignore[attr-defined]
            "username"
        )

    def column_rows(self) -> list[dict[str, Any]]:
        """For the template: each column's bound field and its sample values."""
        out = []
        for index, header in enumerate(self.headers):
            out.append(
                {
                    "header": header,
                    "field": self[column_field_name(index)],
                    "samples": [row[index] for row in self.samples if index < len(row) and row[index]][:3],
                }
            )
        return out

    def option_fields(self) -> list[forms.BoundField]:
        names = ("external_id_column", "on_duplicate", "blank_clears", "default_owner", "save_as")
        return [self[name] for name in names]

    def mapping(self) -> dict[str, str]:
        chosen = {}
        for index, header in enumerate(self.headers):
            target = self.cleaned_data.get(column_field_name(index)) or ""
            if target:
                chosen[header] = target
        return chosen

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        seen: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            target = data.get(column_field_name(index)) or ""
            if not target:
                continue
            if target in seen:
                self.add_error(
                    column_field_name(index),
                    _("“%(other)s” already goes to this field.") % {"other": seen[target]},
                )
            seen[target] = header
        if not seen:
            raise forms.ValidationError(_("Choose a field for at least one column."))
        return data
