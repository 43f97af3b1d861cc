"""Forms only parse and validate input; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import FollowUpKind, FollowUpOutcome, TaskPriority
from bridgecrm.activities.selectors import FollowUpFilters, TaskFilters
from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.policies import manages_owner
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User

ANY: list[tuple[str, Any]] = [("", "—")]
LOCAL_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _datetime(label: Any, *, required: bool = True, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=required, input_formats=LOCAL_INPUT, widget=DateTimeInput(), **kwargs
    )


def assignable_people(actor: User) -> list[User]:
    """Those the actor may give a task to: themselves; a manager's subtree; anyone for an admin."""
    people = User.objects.visible_to(actor).filter(is_active=True).select_related("team").order_by("username")
    return [u for u in people[:500] if u.pk == actor.pk or manages_owner(actor, u)]


class FollowUpFilterForm(BridgeForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=ANY + FollowUpKind.choices, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ANY + FollowUpOutcome.choices, required=False)
    owner = forms.ModelChoiceField(
        label=_("By"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]

    def filters(self) -> FollowUpFilters:
        d = self.cleaned_data
        return FollowUpFilters(
            kind=d.get("kind") or "",
            outcome=d.get("outcome") or "",
            owner_id=d["owner"].pk if d.get("owner") else None,
            customer_id=d.get("customer"),
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
        )


class FollowUpForm(BridgeForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=FollowUpKind.choices, initial=FollowUpKind.CALL)
    occurred_at = _datetime(_("When"))
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label="—"
    )
    deal = forms.ModelChoiceField(label=_("Deal"), queryset=Deal.objects.none(), required=False, empty_label="—")
    summary = forms.CharField(label=_("What happened"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ANY + FollowUpOutcome.choices, required=False)
    next_follow_up_on = forms.DateField(label=_("Next follow-up"), required=False, widget=DateInput())
    checkin_latitude = forms.DecimalField(
        label=_("Check-in latitude"), required=False, max_digits=9, decimal_places=6, min_value=-90, max_value=90
    )
    checkin_longitude = forms.DecimalField(
        label=_("Check-in longitude"), required=False, max_digits=9, decimal_places=6, min_value=-180, max_value=180
    )
    checkin_address = forms.CharField(label=_("Check-in address"), max_length=200, required=False)
    checkin_at = _datetime(_("Checked in at"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    CHECKIN_FIELDS = ("checkin_latitude", "checkin_longitude", "checkin_address", "checkin_at")

    def __init__(self, *args: Any, actor: User, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(customer=customer).order_by("-is_primary", "name")  # type: ignore[attr-defined]
        self.fields["deal"].queryset = (  # type: ignore[attr-defined]
            Deal.objects.visible_to(actor).filter(customer=customer).order_by("-updated_at")
        )

    def main_fields(self) -> list[Any]:
        return [self[n] for n in self.fields if n not in self.CHECKIN_FIELDS and n != "version"]

    def checkin_fields(self) -> list[Any]:
        return [self[n] for n in self.CHECKIN_FIELDS]


class TaskFilterForm(BridgeForm):
    DONE_CHOICES = [("open", _("Open")), ("done", _("Done")), ("all", _("All"))]
    done = forms.ChoiceField(label=_("Status"), choices=DONE_CHOICES, required=False)
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label="—", widget=FastSelect
    )
    due_from = forms.DateField(label=_("Due from"), required=False, widget=DateInput())
    due_to = forms.DateField(label=_("Due to"), required=False, widget=DateInput())
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]

    def filters(self) -> TaskFilters:
        d = self.cleaned_data
        done = {"open": False, "done": True, "all": None}.get(d.get("done") or "open")
        return TaskFilters(
            assignee_id=d["assignee"].pk if d.get("assignee") else None,
            done=done,
            due_from=d.get("due_from"),
            due_to=d.get("due_to"),
            customer_id=d.get("customer"),
        )


class TaskForm(BridgeForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = _datetime(_("Due"))
    remind_at = _datetime(_("Remind me at"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    assignee = forms.TypedChoiceField(
        label=_("Assignee"), coerce=int, choices=(), required=False, empty_value=None, help_text=_("Yourself if empty.")
    )
    customer = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    deal = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    notes = forms.CharField(label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, actor: User, current_assignee: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = assignable_people(actor)
        if current_assignee is not None and current_assignee.pk not in {u.pk for u in people}:
            people.insert(0, current_assignee)
        self.fields["assignee"].choices = [(u.pk, u.display_name) for u in people]  # type: ignore[attr-defined]
        self.people = {u.pk: u for u in people}


class CalendarFeedForm(BridgeForm):
    action = forms.ChoiceField(choices=[("create", "create"), ("revoke", "revoke")])
