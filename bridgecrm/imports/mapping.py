"""Suggest which field each column of an import file goes to.

From the column headers in Chinese and English, including the headers of Salesforce and HubSpot
exports and of our own vCard reader, from custom fields' labels in both languages, and from a
mapping the user saved for a file with the same columns (``selectors.saved_mapping_for``).

The result is ``{header: target}`` where a target is a kind's field name (``name``, ``owner`` …) or
``custom.<key>``. Only targets the kind offers are suggested; each target goes to at most one
column; a column that fits nothing is left unmapped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from django.utils import translation

CUSTOM_PREFIX = "custom."

# target field → header spellings (any kind). Matching ignores case, width, spaces, punctuation and
# a trailing "(必填)"/"*" marker.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "Name"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "联系电话",
        "联系方式",
        "座机",
        "移动电话",
        "办公电话",
        "Phone",
        "Phone Number",
        "Mobile",
        "Mobile Phone",
        "Mobile Phone Number",
        "Telephone",
        "Tel",
        "Cell",
        "Business Phone",
        "Work Phone",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "Email", "E-mail", "Email Address", "Mail"),
    "owner": (
        "负责人",
        "客户负责人",
        "所属销售",
        "销售代表",
        "销售人员",
        "销售",
        "跟进人",
        "归属人",
        "业务员",
        "Owner",
        "Account Owner",
        "Company owner",
        "Contact owner",
        "Deal owner",
        "Opportunity Owner",
        "Owner Name",
        "Sales Rep",
        "Assigned To",
        "Record Owner",
    ),
    "industry": ("行业", "所属行业", "行业类别", "Industry"),
    "province": (
        "省份",
        "省",
        "所在省份",
        "省/直辖市",
        "省市",
        "Province",
        "State",
        "State/Region",
        "Billing State",
        "Billing State/Province",
        "State/Province",
    ),
    "city": ("城市", "市", "所在城市", "所在地", "City", "Billing City"),
    "country": ("国家", "国家/地区", "Country", "Country/Region", "Billing Country"),
    "source": (
        "来源",
        "客户来源",
        "线索来源",
        "获客渠道",
        "Source",
        "Lead Source",
        "Original Source",
        "Original Source Type",
    ),
    "kind": ("客户类型", "类型", "Type", "Account Type", "Company Type"),
    "lifecycle_stage": ("生命周期阶段", "客户阶段", "客户状态", "Lifecycle Stage", "Status"),
    "size": ("规模", "公司规模", "人员规模", "员工人数", "Employees", "Number of Employees", "Company Size"),
    "estimated_annual_potential": (
        "年潜在金额",
        "预计年采购额",
        "潜在金额",
        "客户潜力",
        "预计年潜力",
        "年潜力",
        "年采购潜力",
        "Estimated annual potential",
        "Annual potential",
    ),
    "currency": ("币种", "货币", "币别", "Currency", "Account Currency", "Currency Code"),
    "contact_name": ("联系人", "联系人姓名", "Contact", "Contact Name", "Primary Contact"),
    "contact_title": ("联系人职位", "职位", "职务", "Contact Title", "Title", "Job Title"),
    "wechat": ("微信", "微信号", "WeChat", "WeChat ID"),
    "website": ("网址", "网站", "官网", "Website", "Company Domain Name", "Domain"),
    "address": ("地址", "详细地址", "Address", "Billing Street", "Street Address"),
    "notes": ("备注", "说明", "描述", "Notes", "Note", "Description", "Comments"),
    "customer": (
        "客户",
        "客户名称",
        "公司",
        "公司名称",
        "所属客户",
        "所属公司",
        "单位",
        "单位名称",
        "企业名称",
        "Account",
        "Account Name",
        "Company",
        "Company Name",
        "Organization",
        "Organisation",
        "Associated Company",
    ),
    "contact": ("联系人", "联系人姓名", "Contact", "Contact Name", "Associated Contact"),
    "deal": ("商机", "商机名称", "Deal", "Deal Name", "Opportunity", "Opportunity Name", "Associated Deal"),
    "title": ("职位", "职务", "头衔", "Title", "Job Title"),
    "department": ("部门", "Department"),
    "decision_role": ("决策角色", "角色", "Role", "Contact Role"),
    "amount": ("金额", "商机金额", "预计金额", "合同金额", "回款金额", "Amount", "Deal Amount", "Opportunity Amount"),
    "stage": ("阶段", "销售阶段", "商机阶段", "Stage", "Deal Stage", "Opportunity Stage"),
    "pipeline": ("销售流程", "管道", "Pipeline"),
    "expected_close_date": (
        "预计成交日期",
        "预计签单日期",
        "结单日期",
        "成交日期",
        "Close Date",
        "Expected Close Date",
    ),
    "next_step": ("下一步", "下一步计划", "Next Step"),
    "created_at": ("创建时间", "创建日期", "Created Date", "Create Date", "Created Time"),
    "outcome": ("结果", "跟进结果", "Outcome", "Result"),
    "next_follow_up_on": ("下次跟进", "下次跟进时间", "下次跟进日期", "Next follow-up", "Next Follow Up Date"),
    "note": ("备注", "说明", "Note", "Notes", "Memo", "Description"),
    "is_active": ("是否启用", "启用", "在售", "Active", "Is Active"),
    "is_primary": ("主要联系人", "首要联系人", "是否主要联系人", "Primary", "Primary Contact"),
    "probability": ("赢率", "成交概率", "可能性", "Probability", "Probability (%)", "Deal Probability"),
    "occurred_at": ("跟进时间", "跟进日期", "时间", "日期", "Date", "Activity Date", "Activity date", "Start Date"),
    "summary": ("跟进内容", "内容", "摘要", "主题", "Subject", "Summary", "Activity Subject"),
    "sku": ("编码", "编号", "产品编码", "产品编号", "货号", "SKU", "Product Code", "Code"),
    "list_price": ("单价", "价格", "售价", "标准价", "List Price", "Unit Price", "Price"),
    "unit_cost": ("成本", "单位成本", "成本价", "进价", "采购价", "Unit Cost", "Cost", "Cost Price"),
    "unit": ("单位", "计量单位", "Unit", "Quantity Unit Of Measure"),
    "category": ("分类", "类别", "产品分类", "Category", "Product Family", "Family"),
    "contract": ("合同", "合同编号", "合同号", "Contract", "Contract Number"),
    "received_on": ("回款日期", "到账日期", "收款日期", "Payment Date", "Received Date", "Date Received"),
    "method": ("付款方式", "收款方式", "回款方式", "Payment Method", "Method"),
    "reference": ("流水号", "交易号", "凭证号", "Reference", "Transaction ID"),
}

# A kind's own meaning of a header wins over the generic one ("联系人" is a contact's name in a
# contact file, the contact column in a customer file).
KIND_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": (
            "客户名称",
            "客户",
            "公司名称",
            "公司",
            "企业名称",
            "单位名称",
            "客户全称",
            "公司全称",
            "Account Name",
            "Company",
            "Company Name",
            "Customer",
            "Customer Name",
            "Organization",
        ),
    },
    "contacts": {
        "name": ("姓名", "联系人", "联系人姓名", "名字", "Name", "Full Name", "Contact Name", "Contact"),
        "phone": ("手机", "手机号", "Mobile", "Mobile Phone", "Phone", "Phone Number"),
        "customer": (
            "客户",
            "客户名称",
            "公司",
            "公司名称",
            "单位",
            "Organization",
            "Account Name",
            "Company",
            "Company Name",
            "Associated Company",
        ),
    },
    "deals": {
        "name": ("商机名称", "商机", "项目名称", "项目", "Deal Name", "Opportunity Name", "Name"),
    },
    "products": {
        "name": ("产品名称", "产品", "品名", "商品名称", "Product Name", "Product", "Name"),
    },
    "follow_ups": {
        "kind": ("跟进方式", "方式", "类型", "Type", "Activity Type"),
        "summary": ("跟进内容", "内容", "Notes", "Description", "Comments"),
    },
}

# Columns that carry the record's id in the system the file came from.
EXTERNAL_ID_HEADERS = (
    "外部编号",
    "外部ID",
    "编号",
    "客户编号",
    "客户编码",
    "ID",
    "Id",
    "Record ID",
    "External ID",
    "Account ID",
    "Contact ID",
    "Opportunity ID",
    "Company ID",
    "Deal ID",
    "Product ID",
    "UID",
    "Salesforce ID",
)


class TargetLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> Any: ...


class CustomFieldLike(Protocol):
    key: str
    label_en: str
    label_zh: str


_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_JUNK = re.compile(r"[\s_\-./\\:：*＊#、,，;；'\"“”‘’]+")


def normalise_header(text: str) -> str:
    """Width-folded, case-folded, without spaces, punctuation or "(必填)"-like remarks."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold().strip()
    without_remarks = _BRACKETED.sub("", folded) or folded
    return _JUNK.sub("", without_remarks)


def _labels(label: Any) -> list[str]:
    texts: list[str] = []
    for language in ("en", "zh-hans"):
        with translation.override(language):
            text = str(label)
        if text and text not in texts:
            texts.append(text)
    return texts


def candidates_for(
    kind: str, targets: Sequence[TargetLike], custom_fields: Sequence[CustomFieldLike] = ()
) -> list[tuple[str, int, set[str]]]:
    """[(target, score, normalised spellings)]: score 3 for kind-specific or custom, 2 generic."""
    own = KIND_SYNONYMS.get(kind, {})
    out: list[tuple[str, int, set[str]]] = []
    for target in targets:
        specific = {normalise_header(s) for s in own.get(target.name, ())}
        generic = {normalise_header(s) for s in SYNONYMS.get(target.name, ())}
        generic |= {normalise_header(s) for s in _labels(target.label)}
        generic.add(normalise_header(target.name))
        if specific:
            out.append((target.name, 3, specific))
        out.append((target.name, 2, generic - specific))
    for custom in custom_fields:
        spellings = {normalise_header(s) for s in (custom.label_en, custom.label_zh, custom.key) if s}
        out.append((f"{CUSTOM_PREFIX}{custom.key}", 4, spellings))
    return out


def suggest(
    kind: str,
    headers: Sequence[str],
    targets: Sequence[TargetLike],
    custom_fields: Sequence[CustomFieldLike] = (),
    *,
    saved: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``{header: target}`` for the columns that fit a target (saved mapping first)."""
    valid = {t.name for t in targets} | {f"{CUSTOM_PREFIX}{c.key}" for c in custom_fields}
    result: dict[str, str] = {}
    taken: set[str] = set()
    if saved:
        for header in headers:
            target = saved.get(header)
            if target and target in valid and target not in taken:
                result[header] = target
                taken.add(target)
        if result:
            return result
    spellings = candidates_for(kind, targets, custom_fields)
    normalised = [normalise_header(h) for h in headers]
    scored: list[tuple[int, int, str]] = []  # (-score, column index, target)
    for index, key in enumerate(normalised):
        if not key:
            continue
        for target, score, names in spellings:
            if key in names:
                scored.append((-score * 10, index, target))
            else:
                partial = _partial(key, names)
                if partial:
                    scored.append((-(score * 10 - 15 + partial), index, target))
    scored.sort()
    for _neg, index, target in scored:
        header = headers[index]
        if header in result or target in taken:
            continue
        result[header] = target
        taken.add(target)
    return result


def _partial(key: str, names: set[str]) -> int:
    """A weak match: the header contains a spelling; at its end and longer is better."""
    best = 0
    for name in names:
        cjk = any("\u3400" <= ch <= "\u9fff" for ch in name)
        if len(name) < (2 if cjk else 5):
            continue
        if name in key:
            # The head noun comes last in Chinese and usually in English: "联系人手机" is a phone.
            best = max(best, min(len(name), 4) + (4 if key.endswith(name) else 0))
    return best


def suggest_external_id(headers: Sequence[str], mapping: Mapping[str, str] | None = None) -> str:
    """The column that looks like the source system's record id, if any (and not mapped)."""
    names = {normalise_header(h) for h in EXTERNAL_ID_HEADERS}
    for header in headers:
        if mapping and header in mapping:
            continue
        if normalise_header(header) in names:
            return header
    return ""
