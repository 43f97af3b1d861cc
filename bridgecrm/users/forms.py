"""Forms only parse and validate input; the services decide and write."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from bridgecrm.core.forms import BridgeForm, FastSelect
from bridgecrm.users import selectors, services
from bridgecrm.users.capabilities import CAPABILITIES
from bridgecrm.users.models import Role, Team, TeamKind, User

TIME_ZONES = sorted(zoneinfo.available_timezones())


class SignInForm(BridgeForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(BridgeForm):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Follow the browser")), *settings.LANGUAGES]
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(tz, tz) for tz in TIME_ZONES], widget=FastSelect)


class PasswordChangeForm(BridgeForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )


class AuditedSetPasswordForm(SetPasswordForm):  # type: ignore[type-arg]
    """Django's reset-confirm form, saving through the service so the change is audited."""

    def save(self, commit: bool = True) -> Any:
        services.user_set_password(actor=self.user, user=self.user, password=self.cleaned_data["new_password1"])
        return self.user


class TokenForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    read_only = forms.BooleanField(label=_("Read-only"), required=False)
    expires_in_days = forms.IntegerField(label=_("Expires after (days)"), required=False, min_value=1, max_value=3650)


class InviteForm(BridgeForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none(), required=False, empty_label="—")

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["role"].queryset = Role.objects.all()  # type: ignore[attr-defined]


class UserAdminForm(BridgeForm):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label="—")
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none(), required=False, empty_label="—")
    deactivate_at = forms.DateTimeField(
        label=_("Deactivate on"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["role"].queryset = Role.objects.all()  # type: ignore[attr-defined]


class TeamForm(BridgeForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices)
    parent = forms.ModelChoiceField(label=_("Parent"), queryset=Team.objects.none(), required=False, empty_label="—")
    manager = forms.ModelChoiceField(label=_("Manager"), queryset=User.objects.none(), required=False, empty_label="—")
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Team.objects.visible_to(actor)  # type: ignore[attr-defined]
        self.fields["manager"].queryset = User.objects.visible_to(actor).filter(is_active=True)  # type: ignore[attr-defined]


class RoleCreateForm(BridgeForm):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name_en = forms.CharField(label=_("Name (English)"), max_length=80)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=80)


class AuditSearchForm(BridgeForm):
    # A user name, not a drop-down of every visible user: the page stays O(page), not O(users).
    user = forms.CharField(label=_("User name"), max_length=150, required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), max_length=64, required=False)
    field = forms.CharField(label=_("Field or event"), max_length=100, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actor: User, object_types: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["object_type"].choices = [("", "—"), *object_types]  # type: ignore[attr-defined]

    def clean_user(self) -> int | None:
        username = self.cleaned_data["user"].strip()
        if not username:
            return None
        user_id = selectors.user_id_by_username(actor=self.actor, username=username)
        if user_id is None:
            raise forms.ValidationError(_("No user with this user name."), code="unknown_user")
        return user_id


CAPABILITY_CHOICES = [(c.code, c.label) for c in CAPABILITIES]
