"""Mapping suggestions from Chinese and English headers, vendor exports, custom fields and saved mappings."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from bridgecrm.imports import mapping
from bridgecrm.imports.vcard import HEADERS as VCARD_HEADERS


@dataclass(frozen=True)
class T:
    name: str
    label: object


@dataclass(frozen=True)
class F:
    key: str
    label_en: str
    label_zh: str


CUSTOMER_TARGETS = [
    T("name", _("Name")),
    T("kind", _("Kind")),
    T("lifecycle_stage", _("Lifecycle stage")),
    T("source", _("Source")),
    T("industry", _("Industry")),
    T("country", _("Country")),
    T("province", _("Province")),
    T("city", _("City")),
    T("size", _("Size")),
    T("estimated_annual_potential", _("Estimated annual potential")),
    T("currency", _("Currency")),
    T("owner", _("Owner")),
    T("contact_name", _("Contact name")),
    T("contact_title", _("Contact title")),
    T("phone", _("Phone")),
    T("email", _("E-mail")),
    T("wechat", _("WeChat ID")),
]
CONTACT_TARGETS = [
    T("name", _("Name")),
    T("customer", _("Customer")),
    T("title", "Title"),
    T("phone", _("Phone")),
    T("email", _("E-mail")),
    T("notes", _("Notes")),
    T("owner", _("Owner")),
]


def test_chinese_spreadsheet_headers():
    headers = ["客户名称", "手机", "邮箱", "负责人", "行业", "省份", "城市", "备注(选填)", "联系人", "职位"]
    got = mapping.suggest("customers", headers, CUSTOMER_TARGETS)
    assert got == {
        "客户名称": "name",
        "手机": "phone",
        "邮箱": "email",
        "负责人": "owner",
        "行业": "industry",
        "省份": "province",
        "城市": "city",
        "联系人": "contact_name",
        "职位": "contact_title",
    }


def test_required_markers_width_and_spaces_are_ignored():
    got = mapping.suggest("customers", ["*公司名称（必填）", "ＰＨＯＮＥ", " E-Mail "], CUSTOMER_TARGETS)
    assert got == {"*公司名称（必填）": "name", "ＰＨＯＮＥ": "phone", " E-Mail ": "email"}


def test_salesforce_account_export():
    headers = [
        "Account ID",
        "Account Name",
        "Account Owner",
        "Type",
        "Industry",
        "Billing City",
        "Billing State/Province",
        "Billing Country",
        "Phone",
        "Website",
        "Annual Revenue",
        "Employees",
    ]
    got = mapping.suggest("customers", headers, CUSTOMER_TARGETS)
    assert got["Account Name"] == "name"
    assert got["Account Owner"] == "owner"
    assert got["Type"] == "kind"
    assert got["Industry"] == "industry"
    assert got["Billing City"] == "city"
    assert got["Billing State/Province"] == "province"
    assert got["Billing Country"] == "country"
    assert got["Phone"] == "phone"
    assert got["Employees"] == "size"
    assert "Account ID" not in got and "Annual Revenue" not in got
    assert mapping.suggest_external_id(headers, got) == "Account ID"


def test_hubspot_company_export():
    headers = [
        "Record ID",
        "Company name",
        "Company owner",
        "Create Date",
        "Phone Number",
        "City",
        "State/Region",
        "Country/Region",
        "Industry",
        "Lifecycle Stage",
        "Number of Employees",
        "Original Source",
    ]
    got = mapping.suggest("customers", headers, CUSTOMER_TARGETS)
    assert got == {
        "Company name": "name",
        "Company owner": "owner",
        "Phone Number": "phone",
        "City": "city",
        "State/Region": "province",
        "Country/Region": "country",
        "Industry": "industry",
        "Lifecycle Stage": "lifecycle_stage",
        "Number of Employees": "size",
        "Original Source": "source",
    }
    assert mapping.suggest_external_id(headers, got) == "Record ID"


def test_contact_files_and_vcards():
    got = mapping.suggest("contacts", ["姓名", "公司名称", "职务", "手机号码", "电子邮箱"], CONTACT_TARGETS)
    assert got == {"姓名": "name", "公司名称": "customer", "职务": "title", "手机号码": "phone", "电子邮箱": "email"}
    got = mapping.suggest("contacts", VCARD_HEADERS, CONTACT_TARGETS)
    assert got["Name"] == "name"
    assert got["Organization"] == "customer"
    assert got["Title"] == "title"
    assert got["Mobile"] == "phone"
    assert got["Email"] == "email"
    assert got["Note"] == "notes"
    assert mapping.suggest_external_id(VCARD_HEADERS, got) == "UID"


def test_a_header_containing_a_spelling_is_a_weak_match():
    got = mapping.suggest("customers", ["客户名称", "联系人手机"], CUSTOMER_TARGETS)
    assert got == {"客户名称": "name", "联系人手机": "phone"}


def test_each_target_goes_to_one_column_and_the_exact_match_wins():
    got = mapping.suggest("customers", ["联系电话", "手机"], CUSTOMER_TARGETS)
    assert list(got.values()) == ["phone"]


def test_targets_the_kind_lacks_are_not_suggested():
    got = mapping.suggest("contacts", ["行业", "Industry"], CONTACT_TARGETS)
    assert got == {}


def test_custom_fields_by_label_in_both_languages_and_key():
    fields = [F("budget", "Budget", "预算"), F("erp_code", "ERP code", "ERP编码")]
    got = mapping.suggest("customers", ["客户名称", "预算", "ERP Code"], CUSTOMER_TARGETS, fields)
    assert got == {"客户名称": "name", "预算": "custom.budget", "ERP Code": "custom.erp_code"}
    got = mapping.suggest("customers", ["Budget", "erp_code"], CUSTOMER_TARGETS, fields)
    assert got == {"Budget": "custom.budget", "erp_code": "custom.erp_code"}


def test_saved_mapping_wins_and_drops_targets_no_longer_offered():
    headers = ["公司", "电话", "旧字段"]
    saved = {"公司": "name", "电话": "phone", "旧字段": "custom.gone"}
    got = mapping.suggest("customers", headers, CUSTOMER_TARGETS, saved=saved)
    assert got == {"公司": "name", "电话": "phone"}


def test_deal_product_payment_and_follow_up_files():
    deals = [T(n, n) for n in ("customer", "name", "pipeline", "stage", "amount", "currency", "expected_close_date")]
    deals += [T("owner", "Owner"), T("created_at", "Created"), T("next_step", "Next step")]
    got = mapping.suggest(
        "deals",
        ["Opportunity Name", "Account Name", "Stage", "Amount", "Close Date", "Opportunity Owner", "Created Date"],
        deals,
    )
    assert got == {
        "Opportunity Name": "name",
        "Account Name": "customer",
        "Stage": "stage",
        "Amount": "amount",
        "Close Date": "expected_close_date",
        "Opportunity Owner": "owner",
        "Created Date": "created_at",
    }
    products = [T(n, n) for n in ("sku", "name", "category", "unit", "list_price", "currency", "is_active")]
    got = mapping.suggest("products", ["产品编码", "产品名称", "分类", "单位", "单价", "币种"], products)
    assert got == {
        "产品编码": "sku",
        "产品名称": "name",
        "分类": "category",
        "单位": "unit",
        "单价": "list_price",
        "币种": "currency",
    }
    payments = [T(n, n) for n in ("contract", "received_on", "amount", "method", "reference", "note")]
    got = mapping.suggest("payments", ["合同编号", "回款日期", "回款金额", "付款方式", "流水号", "备注"], payments)
    assert got == {
        "合同编号": "contract",
        "回款日期": "received_on",
        "回款金额": "amount",
        "付款方式": "method",
        "流水号": "reference",
        "备注": "note",
    }
    follow_ups = [T(n, n) for n in ("customer", "kind", "occurred_at", "summary", "outcome", "next_follow_up_on")]
    follow_ups.append(T("owner", "By"))
    got = mapping.suggest(
        "follow_ups", ["客户名称", "跟进方式", "跟进时间", "跟进内容", "跟进结果", "下次跟进时间", "跟进人"], follow_ups
    )
    assert got == {
        "客户名称": "customer",
        "跟进方式": "kind",
        "跟进时间": "occurred_at",
        "跟进内容": "summary",
        "跟进结果": "outcome",
        "下次跟进时间": "next_follow_up_on",
        "跟进人": "owner",
    }
