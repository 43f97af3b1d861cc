from __future__ import annotations

from typing import Any

from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import Pipeline, Product
from bridgecrm.users.models import User


def make_product(admin: User, sku: str = "LIC-001", **kwargs: Any) -> Product:
    values: dict[str, Any] = {"name": "CRM 标准版许可", "category": "software", "list_price": "1000.00"} | kwargs
    return services.product_create(actor=admin, sku=sku, **values)


def make_pipeline(admin: User, name: str = "新客户销售", **kwargs: Any) -> Pipeline:
    return services.pipeline_create(actor=admin, name=name, **kwargs)
