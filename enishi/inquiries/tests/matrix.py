"""This app's part of the permission matrices (enishi/customers/tests/test_permissions.py and
enishi/api/tests/test_permissions_api.py): every URL and every API operation on one record
must be listed here, with a record of Carol's (another team) to try it on."""

# URL name -> {url parameter: key in the dict that secret_objects returns}
NEEDS: dict[str, dict[str, str]] = {
    "inquiries:queue": {},
    "inquiries:create": {},
    "inquiries:detail": {"pk": "inquiry"},
    "inquiries:edit": {"pk": "inquiry"},
    "inquiries:answer": {"pk": "inquiry"},
    "inquiries:change": {"pk": "inquiry"},
    "inquiries:assign": {"pk": "inquiry"},
    "inquiries:delete": {"pk": "inquiry"},
    "inquiries:category_list": {},
    "inquiries:category_create": {},
    "inquiries:category_edit": {"pk": "inquiry_category"},
    "inquiries:category_delete": {"pk": "inquiry_category"},
}
# Pages every signed-in user may open (their contents are still checked for leaks).
# The queue lists only visible inquiries; "new inquiry" without a customer is a customer search.
OPEN_TO_ALL: set[str] = {"inquiries:queue", "inquiries:create"}
# Texts of Carol's records that must never appear in an answer to someone else.
SECRETS: tuple[str, ...] = ("機密の問い合わせ件名", "機密の問い合わせ本文", "機密の回答本文")


def secret_objects(carol, customer) -> dict:
    """Records of Carol's karte `customer` (containing SECRETS); keys as used in NEEDS."""
    from enishi.inquiries import services
    from enishi.inquiries.models import InquiryCategory

    category = InquiryCategory.objects.get_or_create(name="権限テスト分類")[0]
    inquiry = services.inquiry_create(
        actor=carol,
        customer=customer,
        subject=SECRETS[0],
        content=SECRETS[1],
        category=category,
        assignee=carol,
    )
    services.inquiry_answer(actor=carol, inquiry=inquiry, body=SECRETS[2])
    return {"inquiry": inquiry.pk, "inquiry_category": category.pk}


def api_requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API operation on one record: (method, path under /api/v1, body)."""
    inquiry = ids["inquiry"]
    return [
        ("GET", f"/inquiries/{inquiry}", None),
        ("PATCH", f"/inquiries/{inquiry}", {"version": 1, "status": "resolved"}),
        ("DELETE", f"/inquiries/{inquiry}", None),
        ("GET", f"/inquiries/{inquiry}/answers", None),
        ("POST", f"/inquiries/{inquiry}/answers", {"body": "見たぞ"}),
    ]
