"""Writes for contracts (合同) and their attachments. Every change is audited.

- A contract belongs to a customer the actor sees; its deal (optional) must belong to that customer
  and be visible to the actor. Anything else is refused before a row is written (404 for a customer
  one does not see, 400 for a deal that is not the customer's or not visible).
- Optimistic concurrency: updates carry ``lock_version``; a stale one is a 409 and nothing changes.
- Status: draft → active (needs ``signed_on``) → completed or terminated; draft → terminated.
  Completed and terminated are final.
- The contract amount never drops below what its payment plan asks for (Σ plan lines ≤ amount).
- Attachments: the type is sniffed from the bytes (PDF, PNG, JPEG, Office docx/xlsx/pptx, ZIP), never
  from the client's name or content type; stored under a server-made name (a UUID) in the default
  storage; ``original_name`` is only shown and sent back as the download name.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
import uuid
import zipfile
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts.models import (
    Contract,
    ContractAttachment,
    ContractStatus,
    DocumentSettings,
)
from bridgecrm.contracts.numbering import next_number
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.money import check_currency, quantize
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User

CONTRACT_FIELDS = (
    "title", "customer", "deal", "amount", "currency", "signed_on", "starts_on", "ends_on", "owner", "notes",
)  # fmt: skip
EDITABLE = CONTRACT_FIELDS
AUDITED = (*CONTRACT_FIELDS, "status", "number")
MAX_AMOUNT = decimal.Decimal("99999999999999.99")
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 50

TRANSITIONS: dict[str, tuple[str, ...]] = {
    ContractStatus.DRAFT: (ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.ACTIVE: (ContractStatus.COMPLETED, ContractStatus.TERMINATED),
    ContractStatus.COMPLETED: (),
    ContractStatus.TERMINATED: (),
}


def invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _active(actor: Any) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active)


def require_visible(actor: User, contract: Contract) -> None:
    if not _active(actor) or not Contract.objects.visible_to(actor).filter(pk=contract.pk).exists():
        raise not_found()


def document_settings() -> DocumentSettings:
    row = DocumentSettings.objects.order_by("pk").first()
    return row if row is not None else DocumentSettings.objects.create()


def _clean_amount(value: Any, currency: str, field: str = "amount") -> decimal.Decimal:
    try:
        amount = decimal.Decimal(str(value).strip().replace(",", ""))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise invalid(field, _("Enter an amount.")) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise invalid(field, _("Enter an amount between 0 and 99,999,999,999,999.99."))
    if quantize(amount, currency) != amount:
        raise invalid(field, _("The amount has more decimals than the currency allows."))
    return quantize(amount, currency)


def _clean(actor: User, values: dict[str, Any], contract: Contract | None) -> dict[str, Any]:
    out = dict(values)
    title = " ".join(str(out.get("title") or "").split())
    if not title:
        raise invalid("title", _("A title is required."))
    if len(title) > 200:
        raise invalid("title", _("A title has at most 200 characters."))
    out["title"] = title
    try:
        out["currency"] = check_currency(str(out.get("currency") or "CNY"))
    except ApplicationError as exc:
        raise invalid("currency", exc.message) from exc
    out["amount"] = _clean_amount(out.get("amount"), out["currency"])
    customer = out.get("customer")
    if not isinstance(customer, Customer) or not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise not_found()
    deal = out.get("deal")
    if deal is not None:
        if not isinstance(deal, Deal) or not Deal.objects.visible_to(actor).filter(pk=deal.pk).exists():
            raise invalid("deal", _("Choose a deal you can see."))
        if deal.customer_id != customer.pk:
            raise invalid("deal", _("The deal belongs to another customer."))
    owner = out.get("owner") or (contract.owner if contract is not None else actor)
    if not isinstance(owner, User) or not owner.is_active:
        raise invalid("owner", _("The owner must be an active user."))
    if not User.objects.visible_to(actor).filter(pk=owner.pk).exists():
        raise invalid("owner", _("Choose an owner among the people you can see."))
    out["owner"] = owner
    for name in ("signed_on", "starts_on", "ends_on"):
        if out.get(name) is not None and not isinstance(out[name], dt.date):
            raise invalid(name, _("Enter a valid date."))
        out.setdefault(name, None)
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        raise invalid("ends_on", _("The contract cannot end before it starts."))
    notes = str(out.get("notes") or "")
    if len(notes) > 4000:
        raise invalid("notes", _("Notes have at most 4,000 characters."))
    out["notes"] = notes
    out["deal"] = deal
    return {k: out[k] for k in CONTRACT_FIELDS}


def contract_create(*, actor: User, quote: Any = None, **values: Any) -> Contract:
    """A draft contract numbered ``<prefix><year>-<n>``."""
    if not _active(actor):
        raise forbidden()
    data = _clean(actor, values, None)
    with transaction.atomic():
        today = timezone.localdate()
        number = next_number(kind="contract", prefix=document_settings().contract_prefix, on=today)
        contract = Contract.objects.create(number=number, quote=quote, **data)
        audit.record_created(actor=actor, obj=contract, values=audit.snapshot(contract, AUDITED))
    return contract


def contract_update(*, actor: User, contract: Contract, lock_version: int | None, **changes: Any) -> Contract:
    require_visible(actor, contract)
    if contract.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED):
        raise ApplicationError("contract_closed", _("A completed or terminated contract cannot be changed."))
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        if lock_version is None or current.lock_version != lock_version:
            raise Conflict(
                "conflict", _("Someone else changed this contract meanwhile. Reload it and make your change again.")
            )
        values = {name: getattr(current, name) for name in CONTRACT_FIELDS}
        values.update({k: v for k, v in changes.items() if k in CONTRACT_FIELDS})
        data = _clean(actor, values, current)
        if data["customer"].pk != current.customer_id and current.payments.exists():
            raise invalid("customer", _("A contract with payments cannot move to another customer."))
        if data["currency"] != current.currency and current.plan_lines.exists():
            raise invalid("currency", _("The currency cannot change once the contract has a payment plan."))
        planned = current.plan_lines.aggregate(s=Sum("amount"))["s"] or decimal.Decimal(0)
        if data["amount"] < planned:
            raise invalid(
                "amount",
                _("The amount cannot be less than the payment plan (%(planned)s).") % {"planned": f"{planned:,}"},
            )
        if current.status != ContractStatus.DRAFT and data["signed_on"] is None:
            raise invalid("signed_on", _("An active contract keeps its signing date."))
        before = audit.snapshot(current, AUDITED)
        for name, value in data.items():
            setattr(current, name, value)
        current.updated_at = timezone.now()
        current.lock_version = F("lock_version") + 1
        current.save()
        current.refresh_from_db()
        audit.record_changes(actor=actor, obj=current, before=before, after=audit.snapshot(current, AUDITED))
    return current


def contract_set_status(*, actor: User, contract: Contract, status: str, lock_version: int | None = None) -> Contract:
    require_visible(actor, contract)
    with transaction.atomic():
        current = Contract.objects.select_for_update().get(pk=contract.pk)
        if lock_version is not None and current.lock_version != lock_version:
            raise Conflict(
                "conflict", _("Someone else changed this contract meanwhile. Reload it and make your change again.")
            )
        if status not in ContractStatus.values:
            raise invalid("status", _("Select a valid choice."))
        if status == current.status:
            return current
        if status not in TRANSITIONS[current.status]:
            raise invalid(
                "status",
                _("A %(old)s contract cannot become %(new)s.")
                % {"old": current.get_status_display(), "new": ContractStatus(status).label},
                code="illegal_transition",
            )
        if status == ContractStatus.ACTIVE and current.signed_on is None:
            raise invalid("signed_on", _("Enter the signing date before activating the contract."), "not_signed")
        before = audit.snapshot(current, ("status",))
        current.status = status
        current.updated_at = timezone.now()
        current.lock_version = F("lock_version") + 1
        current.save(update_fields=["status", "updated_at", "lock_version"])
        current.refresh_from_db()
        audit.record_changes(actor=actor, obj=current, before=before, after=audit.snapshot(current, ("status",)))
    return current


# ---- attachments ---------------------------------------------------------------------------------

OFFICE_TYPES = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}


def sniff(head: bytes, handle: IO[bytes]) -> tuple[str, str] | None:
    """(content type, extension) from the bytes themselves, or None for a type we do not keep."""
    if head.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"PK\x03\x04"):
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" in names:
            for prefix, found in OFFICE_TYPES.items():
                if any(n.startswith(prefix) for n in names):
                    return found
        return "application/zip", "zip"
    return None


def safe_display_name(name: str) -> str:
    """The client's file name, only for display: no path, no control characters, at most 200 characters."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    base = " ".join(base.split()).strip(". ")
    return base[-200:] or "file"


def max_attachment_bytes() -> int:
    return int(getattr(settings, "BRIDGE_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))


def attachment_add(*, actor: User, contract: Contract, upload: Any) -> ContractAttachment:
    """Keep an uploaded file (a Django ``UploadedFile`` or any file object with ``name`` and ``size``)."""
    require_visible(actor, contract)
    limit = max_attachment_bytes()
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise invalid("file", _("The file is empty."))
    if size > limit:
        raise invalid(
            "file", _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024) or 1}, code="too_large"
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise invalid(
            "file", _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024) or 1}, "too_large"
        )
    buffer = io.BytesIO(data)
    found = sniff(data[:16], buffer)
    if found is None:
        raise invalid(
            "file", _("Only PDF, PNG, JPEG, Word, Excel, PowerPoint and ZIP files can be attached."), "file_type"
        )
    content_type, extension = found
    if ContractAttachment.objects.filter(contract=contract).count() >= MAX_ATTACHMENTS:
        raise invalid("file", _("A contract has at most 50 attachments."))
    now = timezone.now()
    stored_name = f"contracts/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"
    with transaction.atomic():
        saved = default_storage.save(stored_name, File(io.BytesIO(data)))
        try:
            attachment = ContractAttachment.objects.create(
                contract=contract,
                file=saved,
                original_name=safe_display_name(getattr(upload, "name", "")),
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                uploaded_by=actor,
                uploaded_at=now,
            )
            audit.record_event(
                actor=actor,
                event="contract.attachment_added",
                obj=contract,
                details={"attachment": attachment.pk, "name": attachment.original_name, "size": attachment.size},
            )
        except Exception:
            default_storage.delete(saved)
            raise
    return attachment


def attachment_delete(*, actor: User, attachment: ContractAttachment) -> None:
    contract = attachment.contract
    require_visible(actor, contract)
    name = attachment.file.name or ""
    with transaction.atomic():
        audit.record_event(
            actor=actor,
            event="contract.attachment_deleted",
            obj=contract,
            details={"attachment": attachment.pk, "name": attachment.original_name},
        )
        attachment.delete()
        transaction.on_commit(lambda: default_storage.delete(name))
