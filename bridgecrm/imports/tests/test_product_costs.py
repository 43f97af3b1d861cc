"""The products import's optional unit cost: written for holders of products.view_cost, refused at
mapping time for anyone else (so no cost reaches a job, its rows or its error file)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridgecrm.core.errors import ApplicationError
from bridgecrm.imports import mapping
from bridgecrm.imports.kinds import get_kind
from bridgecrm.imports.tests.support import error_rows, run_import, write_csv
from bridgecrm.pipeline.models import Product
from bridgecrm.pipeline.tests.factories import make_product
from bridgecrm.users.capabilities import VIEW_PRODUCT_COST
from bridgecrm.users.models import RolePermission

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def test_costs_are_imported_checked_and_updated(company, var) -> None:
    make_product(company.admin, sku="LIC-1", name="Old", unit_cost="100.00")
    path = write_csv(
        var / "p.csv",
        ["sku", "name", "category", "list_price", "currency", "unit_cost"],
        [
            ["LIC-1", "许可", "software", "1000", "CNY", "650.5"],
            ["SRV-1", "实施服务", "service", "800", "CNY", ""],  # empty: unknown, never 0
            ["HW-1", "服务器", "hardware", "5000", "CNY", "-3"],
            ["JP-1", "ライセンス", "software", "1000", "JPY", "10.5"],
        ],
    )
    job = run_import(company.admin, "products", path, on_duplicate="update")
    assert (job.created_count, job.updated_count) == (1, 1)
    assert Product.objects.get(sku="LIC-1").unit_cost == Decimal("650.50")
    assert Product.objects.get(sku="SRV-1").unit_cost is None
    errors = error_rows(job)
    assert [(row[0], row[2]) for row in errors] == [("3", "HW-1"), ("4", "JP-1")]


def test_a_cost_column_needs_the_cost_right(company, var) -> None:
    RolePermission.objects.filter(role_id=company.admin.role_id, capability=VIEW_PRODUCT_COST).delete()
    company.admin.forget_cached_permissions()
    path = write_csv(
        var / "p.csv", ["sku", "name", "category", "list_price", "unit_cost"], [["LIC-9", "X", "software", "1", "5"]]
    )
    with pytest.raises(ApplicationError) as err:
        run_import(company.admin, "products", path)
    assert err.value.code == "bad_mapping" and str(err.value.message) == "You may not see or set costs."
    assert not Product.objects.filter(sku="LIC-9").exists()
    kind = get_kind("products")
    assert not kind.offers(company.admin, "unit_cost") and kind.offers(company.admin, "list_price")
    # Mapped without the cost column, the same file imports (the cost is ignored, not written).
    job = run_import(
        company.admin,
        "products",
        path,
        mapping={"sku": "sku", "name": "name", "category": "category", "list_price": "list_price"},
    )
    assert job.created_count == 1 and Product.objects.get(sku="LIC-9").unit_cost is None


def test_cost_headers_are_suggested() -> None:
    targets = [mapping_target(n) for n in ("sku", "name", "list_price", "unit_cost")]
    got = mapping.suggest("products", ["产品编码", "产品名称", "单价", "成本价"], targets)
    assert got == {"产品编码": "sku", "产品名称": "name", "单价": "list_price", "成本价": "unit_cost"}


def mapping_target(name: str):  # the shape suggest() reads
    from bridgecrm.imports.kinds.base import Target

    return Target(name, name)
