"""Demo products, pipelines and lost reasons, made through the services as the demo administrator."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import translation

from bridgecrm.core import money
from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import ForecastCategory, StageKind
from bridgecrm.users.models import User

# (SKU, name, category, unit, list price, currency)
PRODUCTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("CRM-STD-U", "Bridge CRM 标准版（按用户/年）", "subscription", "user_year", "1200.00", "CNY"),
    ("CRM-PRO-U", "Bridge CRM 专业版（按用户/年）", "subscription", "user_year", "2400.00", "CNY"),
    ("CRM-ENT-U", "Bridge CRM 企业版（按用户/年）", "subscription", "user_year", "4800.00", "CNY"),
    ("CRM-PRV-L", "Bridge CRM 私有化部署永久许可", "software", "licence", "380000.00", "CNY"),
    ("BI-STD-L", "经营分析 BI 模块许可", "software", "licence", "68000.00", "CNY"),
    ("BI-DASH-U", "BI 看板查看者（按用户/年）", "subscription", "user_year", "360.00", "CNY"),
    ("ERP-FIN-L", "财务模块许可", "software", "licence", "120000.00", "CNY"),
    ("ERP-SCM-L", "供应链模块许可", "software", "licence", "150000.00", "CNY"),
    ("ERP-HR-L", "人力资源模块许可", "software", "licence", "88000.00", "CNY"),
    ("WMS-L", "仓储管理系统（WMS）许可", "software", "licence", "210000.00", "CNY"),
    ("MES-L", "制造执行系统（MES）许可", "software", "licence", "460000.00", "CNY"),
    ("API-GW-Y", "开放平台 API 网关年费", "subscription", "year", "30000.00", "CNY"),
    ("SMS-PACK", "短信通知包（10 万条）", "subscription", "set", "4500.00", "CNY"),
    ("STO-1TB-Y", "附加存储 1 TB（年）", "subscription", "year", "2000.00", "CNY"),
    ("SEC-SSO-Y", "单点登录（SSO）集成年费", "subscription", "year", "18000.00", "CNY"),
    ("IMP-STD", "标准实施服务（人天）", "service", "day", "2800.00", "CNY"),
    ("IMP-SR", "高级顾问实施（人天）", "service", "day", "4500.00", "CNY"),
    ("IMP-PKG-S", "快速上线实施包（小型）", "service", "project", "60000.00", "CNY"),
    ("IMP-PKG-L", "全面实施包（大型）", "service", "project", "480000.00", "CNY"),
    ("DEV-CUST", "定制开发（人天）", "service", "day", "3200.00", "CNY"),
    ("DATA-MIG", "历史数据迁移服务", "service", "project", "25000.00", "CNY"),
    ("INT-ERP", "ERP 系统对接服务", "service", "project", "80000.00", "CNY"),
    ("SUP-STD-Y", "标准运维支持（年）", "service", "year", "36000.00", "CNY"),
    ("SUP-PRM-Y", "7×24 尊享运维支持（年）", "service", "year", "96000.00", "CNY"),
    ("TRN-ONS", "现场培训（天）", "training", "day", "6000.00", "CNY"),
    ("TRN-ONL", "在线培训课程（人）", "training", "piece", "800.00", "CNY"),
    ("TRN-ADM", "系统管理员认证培训", "training", "piece", "3500.00", "CNY"),
    ("HW-SRV-2U", "机架式服务器 2U（双路）", "hardware", "set", "68000.00", "CNY"),
    ("HW-SRV-GPU", "GPU 推理服务器", "hardware", "set", "260000.00", "CNY"),
    ("HW-NAS-8", "8 盘位 NAS 存储", "hardware", "set", "22000.00", "CNY"),
    ("HW-SW-48", "48 口千兆交换机", "hardware", "piece", "8600.00", "CNY"),
    ("HW-FW", "下一代防火墙", "hardware", "piece", "35000.00", "CNY"),
    ("HW-PDA", "手持数据采集终端（PDA）", "hardware", "piece", "3200.00", "CNY"),
    ("HW-SCAN", "工业扫码枪", "hardware", "piece", "980.00", "CNY"),
    ("HW-PRN-L", "标签打印机", "hardware", "piece", "2600.00", "CNY"),
    ("HW-KIOSK", "自助服务终端", "hardware", "set", "15800.00", "CNY"),
    ("CRM-ENT-USD", "Bridge CRM Enterprise (per user / year)", "subscription", "user_year", "720.00", "USD"),
    ("IMP-SR-USD", "Senior consultant, on site (per day)", "service", "day", "1200.00", "USD"),
    ("SUP-PRM-USD", "Premium 24/7 support (per year)", "service", "year", "15000.00", "USD"),
    ("HW-GPU-USD", "GPU inference server (export model)", "hardware", "set", "42000.00", "USD"),
    ("OLD-CRM-V1", "Bridge CRM 1.0 永久许可（停售）", "software", "licence", "98000.00", "CNY"),
)
DISCONTINUED = ("OLD-CRM-V1",)
# What a unit costs the company, as a share of the list price, by category (licences are cheap to
# make, hardware is bought in). A few services have no cost yet, so some deals' margins are unknown.
COST_SHARE = {
    "subscription": Decimal("0.22"),
    "software": Decimal("0.12"),
    "service": Decimal("0.58"),
    "training": Decimal("0.45"),
    "hardware": Decimal("0.76"),
}
NO_COST = ("INT-ERP", "DATA-MIG")


def demo_cost(sku: str, category: str, price: str, currency: str) -> Decimal | None:
    if sku in NO_COST:
        return None
    return money.quantize(Decimal(price) * COST_SHARE[category], currency)


LOST_REASONS = ("价格过高", "选择了竞争对手", "预算取消", "无决策人", "时机不对")

# Gates and stale limits for the default pipeline, by stage order.
GATES = {2: ["contact"], 3: ["amount", "expected_close_date"], 4: ["amount", "expected_close_date", "line_items"]}
GATES_WON = ["amount", "line_items"]
GATES_LOST = ["lost_reason"]
STALE = {1: 14, 2: 21, 3: 30, 4: 21}


def create_demo_pipeline(*, admin: User) -> int:
    """The default pipeline (with gates), a channel pipeline, ~40 products and five lost reasons."""
    with translation.override("zh-hans"), transaction.atomic():
        admin.language = "zh-hans"
        default = services.pipeline_create(actor=admin, name="新客户销售", is_default=True)
        for stage in default.stages.all():
            gate = GATES_WON if stage.kind == StageKind.WON else GATES_LOST if stage.kind == StageKind.LOST else None
            services.stage_update(
                actor=admin,
                stage=stage,
                gate_fields=gate if gate is not None else GATES.get(stage.order, []),
                stale_after_days=STALE.get(stage.order),
            )
        channel = services.pipeline_create(actor=admin, name="渠道")
        stages = list(channel.stages.order_by("order"))
        services.stage_update(actor=admin, stage=stages[0], name="渠道报备", probability=10)
        services.stage_update(actor=admin, stage=stages[1], name="联合拜访", probability=30)
        services.stage_delete(actor=admin, stage=stages[3])
        services.stage_add(
            actor=admin,
            pipeline=channel,
            name="渠道下单",
            probability=90,
            forecast_category=ForecastCategory.COMMIT,
            gate_fields=["amount", "line_items"],
            stale_after_days=14,
        )
        for sku, name, category, unit, price, currency in PRODUCTS:
            product = services.product_create(
                actor=admin,
                sku=sku,
                name=name,
                category=category,
                unit=unit,
                list_price=price,
                currency=currency,
                unit_cost=demo_cost(sku, category, price, currency),
            )
            if sku in DISCONTINUED:
                services.product_deactivate(actor=admin, product=product)
        for reason in LOST_REASONS:
            services.lost_reason_create(actor=admin, name=reason)
    return len(PRODUCTS)
