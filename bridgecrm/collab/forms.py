"""Forms for comments: plain text, checked again by the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bridgecrm.collab.models import BODY_MAX


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=BODY_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "data-mention-input": "1",
                "placeholder": _("Write a comment. Type @ to mention someone."),
                "autocomplete": "off",
            }
        ),
    )
