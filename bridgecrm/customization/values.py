"""Typed values of custom fields: one function turns any input (form text, API JSON, an imported
cell) into the stored JSON form, or raises a translated :class:`ApplicationError`.

Stored forms, chosen so that both databases filter and sort them in the JSON column:
text, long text, URL, e-mail → str; phone → E.164 str; number → JSON number; money → JSON number
rounded to cents (in the company's base currency); date → "YYYY-MM-DD"; date-time → ISO 8601 in
UTC ("YYYY-MM-DDTHH:MM:SSZ", sorts as text); single select → the option's value; multi select →
a list of option values in the options' order; checkbox → bool; user → the user's id.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from bridgecrm.core.errors import ApplicationError
from bridgecrm.customization.models import FieldDefinition, FieldType

MAX_TEXT = 255
MAX_LONG_TEXT = 5000
MAX_NUMBER = decimal.Decimal("1e15")
_TRUE = {"1", "true", "yes", "y", "on", "是", "√", "✓", "x"}
_FALSE = {"0", "false", "no", "n", "off", "否", ""}


def invalid(field: FieldDefinition, message: Any) -> ApplicationError:
    # ``custom.<key>`` also names the form field, so the form shows the message beside it.
    details = {"field": f"custom.{field.key}", "label": str(field.label), f"custom.{field.key}": [str(message)]}
    return ApplicationError("invalid", message, details=details)


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, (list, tuple)) and not raw)


def _text(field: FieldDefinition, raw: Any, limit: int) -> str:
    if not isinstance(raw, (str, int, float, decimal.Decimal)) or isinstance(raw, bool):
        raise invalid(field, _("Enter text."))
    text = str(raw).strip()
    if len(text) > limit:
        raise invalid(field, _("At most %(limit)d characters.") % {"limit": limit})
    return text


def _number(field: FieldDefinition, raw: Any, places: int | None) -> int | float:
    if isinstance(raw, bool):
        raise invalid(field, _("Enter a number."))
    text = str(raw).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise invalid(field, _("Enter a number.")) from None
    if not value.is_finite() or abs(value) >= MAX_NUMBER:
        raise invalid(field, _("Enter a number.")) from None
    if places is not None:
        value = value.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _date(field: FieldDefinition, raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = str(raw).strip().replace("/", "-").replace(".", "-")
    text = re.sub(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", r"\1-\2-\3", text)
    match = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", text)
    try:
        parsed = dt.date(int(match[1]), int(match[2]), int(match[3])) if match else parse_date(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid(field, _("Enter a valid date."))
    return parsed.isoformat()


def _datetime(field: FieldDefinition, raw: Any) -> str:
    moment: dt.datetime | None
    if isinstance(raw, dt.datetime):
        moment = raw
    else:
        try:
            moment = parse_datetime(str(raw).strip().replace("/", "-"))
        except ValueError:
            moment = None
    if moment is None:
        raise invalid(field, _("Enter a valid date and time."))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _option_values(field: FieldDefinition) -> list[str]:
    return [str(option.get("value")) for option in field.options or []]


def _option(field: FieldDefinition, raw: Any) -> str:
    """An option by its value or by either label (so imports may use what people see)."""
    text = str(raw).strip()
    for option in field.options or []:
        if text in (str(option.get("value")), option.get("label_en"), option.get("label_zh")):
            return str(option.get("value"))
    folded = text.casefold()
    for option in field.options or []:
        if folded in (str(option.get("value")).casefold(), str(option.get("label_en", "")).casefold()):
            return str(option.get("value"))
    raise invalid(field, _("“%(value)s” is not one of the choices.") % {"value": text[:50]})


def _options(field: FieldDefinition, raw: Any) -> list[str]:
    if isinstance(raw, str):
        parts: Iterable[Any] = [p for p in re.split(r"[;,，；、|]", raw) if p.strip()]
    elif isinstance(raw, (list, tuple)):
        parts = raw
    else:
        raise invalid(field, _("Pick one or more of the choices."))
    chosen = {_option(field, part) for part in parts}
    return [value for value in _option_values(field) if value in chosen]


def _checkbox(field: FieldDefinition, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(field, _("Enter yes or no."))


def _user(field: FieldDefinition, raw: Any) -> int:
    from bridgecrm.users.models import User

    if isinstance(raw, User):
        return int(raw.pk)
    text = str(raw).strip()
    found = None
    if text.isdigit() and len(text) < 19:
        found = User.objects.filter(pk=int(text), is_active=True).values_list("pk", flat=True).first()
    if found is None:
        found = User.objects.filter(is_active=True).filter(_user_lookup(text)).values_list("pk", flat=True).first()
    if found is None:
        raise invalid(field, _("No active user “%(value)s”.") % {"value": text[:50]})
    return int(found)


def _user_lookup(text: str) -> Any:
    from django.db.models import Q

    return Q(username__iexact=text) | Q(email__iexact=text) | Q(full_name=text)


def _url(field: FieldDefinition, raw: Any) -> str:
    text = _text(field, raw, MAX_TEXT)
    if "://" not in text:
        text = "https://" + text
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise invalid(field, _("Enter a valid web address.")) from None
    return text


def _email(field: FieldDefinition, raw: Any) -> str:
    text = _text(field, raw, MAX_TEXT).lower()
    try:
        EmailValidator()(text)
    except ValidationError:
        raise invalid(field, _("Enter a valid e-mail address.")) from None
    return text


def _phone(field: FieldDefinition, raw: Any) -> str:
    text = _text(field, raw, 40)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise invalid(field, _("Enter a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def coerce(field: FieldDefinition, raw: Any) -> Any:
    """The stored form of ``raw`` for ``field``, or None when empty; raises ApplicationError.

    Does not apply ``required`` (see :func:`clean_values`)."""
    if is_empty(raw):
        return False if field.type == FieldType.CHECKBOX and raw is not None and raw != "" else None
    match field.type:
        case FieldType.TEXT:
            return _text(field, raw, MAX_TEXT)
        case FieldType.LONG_TEXT:
            return _text(field, raw, MAX_LONG_TEXT)
        case FieldType.NUMBER:
            return _number(field, raw, None)
        case FieldType.MONEY:
            return _number(field, raw, 2)
        case FieldType.DATE:
            return _date(field, raw)
        case FieldType.DATETIME:
            return _datetime(field, raw)
        case FieldType.SINGLE_SELECT:
            return _option(field, raw)
        case FieldType.MULTI_SELECT:
            return _options(field, raw) or None
        case FieldType.CHECKBOX:
            return _checkbox(field, raw)
        case FieldType.USER:
            return _user(field, raw)
        case FieldType.URL:
            return _url(field, raw)
        case FieldType.EMAIL:
            return _email(field, raw)
        case FieldType.PHONE:
            return _phone(field, raw)
    raise invalid(field, _("Unknown field type."))


def clean_values(
    fields: Iterable[FieldDefinition],
    raw: dict[str, Any],
    *,
    current: dict[str, Any] | None = None,
    creating: bool = False,
) -> dict[str, Any]:
    """The record's new ``custom`` dict: ``current`` with the keys in ``raw`` coerced and replaced.

    ``fields`` are the definitions the actor may edit (the caller filters by role). On creation,
    defaults fill what ``raw`` leaves out. A required field left empty, or a key in ``raw`` that is
    not among ``fields``, is an error; every error names its field in ``details``. Keys of
    archived or hidden fields already in ``current`` are kept as they are."""
    by_key = {f.key: f for f in fields}
    unknown = sorted(set(raw) - set(by_key))
    if unknown:
        raise ApplicationError(
            "invalid", _("Unknown custom field: %(keys)s") % {"keys": ", ".join(unknown)}, details={"keys": unknown}
        )
    result = dict(current or {})
    for key, field in by_key.items():
        if key in raw:
            value = coerce(field, raw[key])
        elif creating and field.default is not None:
            value = coerce(field, field.default)
        else:
            value = result.get(key)
        if value is None or value == []:
            if field.required and (key in raw or creating):
                raise invalid(field, _("This field is required."))
            result.pop(key, None)
        else:
            result[key] = value
    return result


def display(field: FieldDefinition, value: Any) -> str:
    """The value as people read it, in the current language (for pages and exports)."""
    if value is None:
        return ""
    match field.type:
        case FieldType.SINGLE_SELECT:
            return field.option_label(str(value))
        case FieldType.MULTI_SELECT:
            separator = pgettext("list separator", ", ")
            return separator.join(field.option_label(str(v)) for v in value) if isinstance(value, list) else str(value)
        case FieldType.CHECKBOX:
            return str(_("Yes") if value else _("No"))
        case FieldType.MONEY:
            try:
                return f"{decimal.Decimal(str(value)):,.2f}"
            except decimal.InvalidOperation:
                return str(value)
        case FieldType.USER:
            from bridgecrm.users.models import User

            user = User.objects.filter(pk=value).first() if isinstance(value, int) else None
            return user.display_name if user is not None else str(value)
    return str(value)
