"""Contracts, attachments, payment plans, payments, aging, collections and exchange rates."""

from django.urls import URLPattern, path

from bridgecrm.contracts.views import contracts, payments, rates

urlpatterns: list[URLPattern] = [
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/export/", contracts.contract_export, name="contracts_export"),
    path("contracts/new/", contracts.contract_create, name="contract_create"),
    path("contracts/<int:contract_id>/", contracts.contract_detail, name="contract_detail"),
    path("contracts/<int:contract_id>/edit/", contracts.contract_edit, name="contract_edit"),
    path("contracts/<int:contract_id>/status/", contracts.contract_status, name="contract_status"),
    path("contracts/<int:contract_id>/attachments/", contracts.attachment_upload, name="attachment_upload"),
    path(
        "contracts/<int:contract_id>/attachments/<int:attachment_id>/",
        contracts.attachment_download,
        name="attachment_download",
    ),
    path(
        "contracts/<int:contract_id>/attachments/<int:attachment_id>/delete/",
        contracts.attachment_delete,
        name="attachment_delete",
    ),
    path("contracts/<int:contract_id>/plan/", payments.plan_save, name="plan_save"),
    path("contracts/<int:contract_id>/payments/", payments.payment_record, name="payment_record"),
    path(
        "contracts/<int:contract_id>/payments/<int:payment_id>/delete/",
        payments.payment_delete,
        name="payment_delete",
    ),
    path(
        "contracts/<int:contract_id>/payments/<int:payment_id>/refunds/",
        payments.refund_record,
        name="refund_record",
    ),
    path(
        "contracts/<int:contract_id>/refunds/<int:refund_id>/delete/",
        payments.refund_delete,
        name="refund_delete",
    ),
    path("payments/", payments.payment_list, name="payments"),
    path("payments/export/", payments.payment_export, name="payments_export"),
    path("collections/", payments.collections, name="collections"),
    path("collections/aging/", payments.aging, name="aging"),
    path("collections/aging/export/", payments.aging_export, name="aging_export"),
    path("manage/exchange-rates/", rates.exchange_rates, name="exchange_rates"),
]
