"""The import kinds: what each kind's columns may be mapped to and how a batch is written."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError
from bridgecrm.customization.models import FieldDefinition
from bridgecrm.imports.kinds.base import CUSTOM_PREFIX, Kind, Target
from bridgecrm.imports.kinds.contacts import ContactsKind
from bridgecrm.imports.kinds.customers import CustomersKind
from bridgecrm.imports.kinds.deals import DealsKind
from bridgecrm.imports.kinds.follow_ups import FollowUpsKind
from bridgecrm.imports.kinds.payments import PaymentsKind
from bridgecrm.imports.kinds.products import ProductsKind

KINDS: dict[str, Kind] = {
    k.code: k for k in (CustomersKind(), ContactsKind(), DealsKind(), FollowUpsKind(), ProductsKind(), PaymentsKind())
}


def get_kind(code: str) -> Kind:
    kind = KINDS.get(code)
    if kind is None:
        raise ApplicationError("invalid", _("Unknown kind of import."), details={"kind": [code]})
    return kind


def custom_fields_of(kind: Kind) -> list[FieldDefinition]:
    if kind.entity is None:
        return []
    return list(FieldDefinition.objects.for_entity(kind.entity).prefetch_related("visible_to", "editable_by"))


def target_fields(code: str) -> list[Target]:
    """Every field a column of this kind may be mapped to: the kind's own, then ``custom.<key>``."""
    kind = get_kind(code)
    return [*kind.targets, *(Target(CUSTOM_PREFIX + f.key, f.label) for f in custom_fields_of(kind))]


__all__ = ["KINDS", "Kind", "Target", "custom_fields_of", "get_kind", "target_fields"]
