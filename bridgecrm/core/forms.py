"""Form pieces shared by the apps: a base form and a fast select widget."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """A ``<select>`` whose options are formatted in Python rather than one template include each.

    Django renders every ``<option>`` through the form renderer's templates; for long fixed lists
    (the ~600 time zones) that dominated the page's time. Same markup, no option groups.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        selected = {str(v) for v in self.format_value(value)}
        options = []
        for option_value, label in self.choices:
            key = "" if option_value is None else str(option_value)
            mark = " selected" if key in selected else ""
            options.append(f'<option value="{escape(key)}"{mark}>{escape(label)}</option>')
        body = mark_safe("".join(options))  # noqa: S308 - every value and label above is escaped
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), body)


class BridgeForm(forms.Form):
    """Base form: labels sit above their fields, so no label suffix (":" is wrong in Chinese anyway)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
