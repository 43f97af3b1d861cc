"""Phone numbers: parsed with libphonenumber (region CN by default), stored in E.164."""

from __future__ import annotations

from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from bridgecrm.customers.models import PhoneKind

DEFAULT_REGION = "CN"
MAX_RAW = 40


class Phone(NamedTuple):
    raw: str
    e164: str
    kind: str


_KINDS = {
    PhoneNumberType.MOBILE: PhoneKind.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneKind.LANDLINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneKind.LANDLINE,
}


def normalise(raw: str, region: str = DEFAULT_REGION) -> Phone | None:
    """The number in E.164 with its kind, or None when it is not a valid number.

    "13800138000", "+86 138-0013-8000" → +8613800138000 (mobile);
    "010-12345678" → +861012345678, "0755 1234 5678" → +8675512345678 (landlines).
    """
    text = raw.strip()
    if not text or len(text) > MAX_RAW:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = _KINDS.get(phonenumbers.number_type(number), PhoneKind.OTHER)
    # The kind as its plain code (it is stored as such): an enum member costs a call to its class
    # each time a prepared import batch is unpickled (imports/ahead.py).
    return Phone(raw=text, e164=phonenumbers.format_number(number, PhoneNumberFormat.E164), kind=str(kind.value))


def display(e164: str) -> str:
    """A readable form: national for Chinese numbers (138 0013 8000), international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if number.country_code == 86:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
