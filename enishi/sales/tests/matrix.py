"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

import datetime

from django.utils import timezone

from enishi.sales import services

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "sales:product_list": {},
    "sales:product_create": {},
    "sales:product_edit": {"pk": "product"},
    "sales:order_list": {},
    # Without ?customer= of a karte the user may change, the form does not exist (404).
    "sales:order_create": {},
    "sales:order_detail": {"pk": "order"},
    "sales:order_edit": {"pk": "order"},
    "sales:order_delete": {"pk": "order"},
    "sales:contract_list": {},
    "sales:contract_create": {},
    "sales:contract_detail": {"pk": "contract"},
    "sales:contract_edit": {"pk": "contract"},
    "sales:contract_cancel": {"pk": "contract"},
    "sales:contract_delete": {"pk": "contract"},
    "sales:renewals": {},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = {
    "sales:product_list",
    "sales:order_list",
    "sales:contract_list",
    "sales:renewals",
}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ("機密の受注メモ", "機密の特注品", "機密プラン極", "機密の契約メモ")


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    The product is a discontinued one: only admins see those (a product on sale is open to
    everyone, so it could not answer 404)."""
    product = services.product_create(
        actor=carol,
        data={"code": "SECRET-1", "name": "廃番品", "unit_price": "1000", "is_active": False},
    )
    order = services.order_create(
        actor=carol,
        customer=customer,
        data={"note": "機密の受注メモ"},
        lines=[{"description": "機密の特注品", "unit_price": "50000", "quantity": 2}],
    )
    today = timezone.localdate()
    contract = services.contract_create(
        actor=carol,
        customer=customer,
        data={
            "plan": "機密プラン極",
            "note": "機密の契約メモ",
            "starts_on": today - datetime.timedelta(days=300),
            "renews_on": today + datetime.timedelta(days=400),
            "amount": 120000,
        },
    )
    return {"product": product.pk, "order": order.pk, "contract": contract.pk}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    product, order, contract = ids["product"], ids["order"], ids["contract"]
    return [
        ("GET", f"/products/{product}", None),
        ("PATCH", f"/products/{product}", {"version": 1, "name": "x"}),
        ("GET", f"/orders/{order}", None),
        ("PATCH", f"/orders/{order}", {"version": 1, "note": "見たぞ"}),
        ("DELETE", f"/orders/{order}", None),
        ("GET", f"/contracts/{contract}", None),
        ("PATCH", f"/contracts/{contract}", {"version": 1, "note": "見たぞ"}),
        ("DELETE", f"/contracts/{contract}", None),
        (
            "POST",
            f"/contracts/{contract}/cancel",
            {"version": 1, "cancelled_on": "2026-01-01", "reason": "x"},
        ),
    ]
