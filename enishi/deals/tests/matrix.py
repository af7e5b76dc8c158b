"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

from decimal import Decimal

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "deals:board": {},
    "deals:board_pipeline": {"pk": "deals_pipeline"},
    "deals:list": {},
    "deals:create": {},
    "deals:detail": {"pk": "carol_deal"},
    "deals:edit": {"pk": "carol_deal"},
    "deals:move": {"pk": "carol_deal"},
    "deals:delete": {"pk": "carol_lost_deal"},
    "deals:pipeline_list": {},
    "deals:pipeline_create": {},
    "deals:pipeline_edit": {"pk": "deals_pipeline"},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
OPEN_TO_ALL: set[str] = {"deals:board", "deals:board_pipeline", "deals:list"}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = (
    "機密案件X",
    "機密の決裁プロセス",
    "機密競合社",
    "機密の失注理由",
    "¥98,765,432",
)


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS.

    No next action: it would add a task, and the API matrix counts the karte's tasks."""
    from enishi.deals import services

    pipeline = services.default_pipeline_ensure()
    stages = {s.outcome: s for s in pipeline.stages.order_by("-position")}
    deal = services.deal_create(
        actor=carol,
        customer=customer,
        title="機密案件X",
        stage=stages["open"],
        amount=Decimal("98765432"),
        decision_process="機密の決裁プロセス",
        competitors="機密競合社",
    )
    lost = services.deal_create(
        actor=carol,
        customer=customer,
        title="機密案件X（失注）",
        stage=stages["lost"],
        lost_reason="機密の失注理由",
    )
    return {
        "carol_deal": deal.pk,
        "carol_lost_deal": lost.pk,
        "deals_pipeline": pipeline.pk,
        "deals_stage": stages["won"].pk,
    }


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    deal = ids["carol_deal"]
    return [
        ("GET", f"/deals/{deal}", None),
        ("PATCH", f"/deals/{deal}", {"version": 1, "title": "見たぞ"}),
        ("POST", f"/deals/{deal}/move", {"stage_id": ids["deals_stage"], "version": 1}),
        ("GET", f"/deals/{deal}/stage-changes", None),
        ("DELETE", f"/deals/{ids['carol_lost_deal']}", None),
    ]
