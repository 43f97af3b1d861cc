"""Forms of the training pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bridgecrm.core.forms import BridgeForm
from bridgecrm.pipeline.models import Product
from bridgecrm.training.models import ArticleKind, CoachingStatus, CourseKind, TrainingCourse
from bridgecrm.users.models import User

LOCAL_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PersonChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        name = obj.display_name
        return f"{name} · {obj.team}" if obj.team_id else name


class PeopleChoiceField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        name = obj.display_name
        return f"{name} · {obj.team}" if obj.team_id else name


class CourseForm(BridgeForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=CourseKind.choices)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True).order_by("name"), required=False
    )
    pass_score = forms.DecimalField(
        label=_("Pass score"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Leave empty when attending is enough to complete the course."),
    )
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SessionForm(BridgeForm):
    course = forms.ModelChoiceField(label=_("Course"), queryset=TrainingCourse.objects.none())
    starts_at = forms.DateTimeField(label=_("Starts"), input_formats=LOCAL_INPUT, widget=DateTimeInput())
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=1, max_value=1440, initial=60)
    trainer = PersonChoiceField(label=_("Trainer"), queryset=User.objects.none(), required=False)
    trainer_name = forms.CharField(label=_("Outside trainer"), max_length=120, required=False)
    location = forms.CharField(label=pgettext_lazy("training session", "Location"), max_length=200, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_open = forms.BooleanField(
        label=_("Open to everyone"),
        required=False,
        initial=True,
        help_text=_("Open sessions are listed for every rep, not only those enrolled."),
    )

    def __init__(self, *args: Any, courses: Any, trainers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]
        self.fields["trainer"].queryset = trainers  # type: ignore[attr-defined]


class EnrolForm(BridgeForm):
    users = PeopleChoiceField(label=_("People to enrol"), queryset=User.objects.none())

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = people  # type: ignore[attr-defined]
        self.fields["users"].widget.attrs["size"] = 8


ATTENDANCE_CHOICES = [("", _("Not recorded")), ("yes", _("Attended")), ("no", _("Absent"))]


class AttendanceForm(BridgeForm):
    """One enrolment's row of the attendance sheet (prefix ``e<id>``)."""

    attended = forms.ChoiceField(label=_("Attendance"), choices=ATTENDANCE_CHOICES, required=False)
    score = forms.DecimalField(
        label=_("Score"), max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )

    def attended_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("attended") or "")


class MaterialForm(BridgeForm):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    link = forms.CharField(label=_("Link"), max_length=500, required=False, widget=forms.URLInput())
    file = forms.FileField(label=_("File"), required=False)


class CoachingPlanForm(BridgeForm):
    rep = PersonChoiceField(label=_("Rep"), queryset=User.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    goals = forms.CharField(label=_("Goals"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    kpis = forms.CharField(
        label=_("Linked KPIs"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "visits: 拜访\nwin_rate: Win rate"}),
        help_text=_("One a line: a metric code, then optionally a colon and a label."),
    )
    kpi_note = forms.CharField(
        label=_("KPI note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_check_in = forms.DateField(label=_("Next check-in"), required=False, widget=DateInput())
    status = forms.ChoiceField(label=_("Status"), choices=CoachingStatus.choices, initial=CoachingStatus.ACTIVE)

    def __init__(self, *args: Any, people: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = people  # type: ignore[attr-defined]
        if editing:
            del self.fields["rep"]
        else:
            del self.fields["status"]


class CheckInForm(BridgeForm):
    held_on = forms.DateField(label=_("Date"), widget=DateInput())
    note = forms.CharField(label=_("Note (the rep sees it)"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    private_note = forms.CharField(
        label=_("Private note (coach and managers only)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next_check_in = forms.DateField(label=_("Next check-in"), required=False, widget=DateInput())


ANY: list[tuple[str, Any]] = [("", _("All kinds"))]


class LibraryFilterForm(BridgeForm):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title, text or tag")}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ANY + ArticleKind.choices, required=False)
    tag = forms.CharField(label=_("Tag"), max_length=40, required=False)


class ArticleForm(BridgeForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=ArticleKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Plain text; blank lines start new paragraphs and web addresses become links."),
    )
    tags = forms.CharField(
        label=_("Tags"), max_length=500, required=False, help_text=_("Separated by commas, e.g. pricing, 医疗")
    )
    customer = forms.IntegerField(label=_("Customer ID (optional)"), required=False, min_value=1)
    deal = forms.IntegerField(label=_("Deal ID (optional)"), required=False, min_value=1)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True).order_by("name"), required=False
    )
