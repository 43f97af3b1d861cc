from __future__ import annotations

import pytest

from bridgecrm.customers import phones


@pytest.mark.parametrize(
    ("raw", "e164", "kind"),
    [
        ("13800138000", "+8613800138000", "mobile"),
        ("+86 138-0013-8000", "+8613800138000", "mobile"),
        ("0086 138 0013 8000", "+8613800138000", "mobile"),
        ("010-12345678", "+861012345678", "landline"),
        ("0755 1234 5678", "+8675512345678", "landline"),
        ("(021) 6888-8888", "+862168888888", "landline"),
        ("+1 650 253 0000", "+16502530000", "landline"),
        ("+65 9123 4567", "+6591234567", "mobile"),
    ],
)
def test_valid_numbers_are_normalised_to_e164(raw: str, e164: str, kind: str) -> None:
    phone = phones.normalise(raw)
    assert phone is not None
    assert (phone.raw, phone.e164, phone.kind) == (raw.strip(), e164, kind)


@pytest.mark.parametrize("raw", ["", "   ", "12345", "138001380001", "not a phone", "+86", "1" * 41, "010-1234"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    assert phones.normalise(raw) is None


def test_display_is_national_for_china_and_international_elsewhere() -> None:
    assert phones.display("+8613800138000") == "138 0013 8000"
    assert phones.display("+861012345678") == "010 1234 5678"
    assert phones.display("+16502530000") == "+1 650-253-0000"
    assert phones.display("garbage") == "garbage"
