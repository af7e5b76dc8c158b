"""The Enishi API: django-ninja under /api/v1, the OpenAPI document at /api/openapi.json and
interactive docs at /api/docs. Every operation needs a personal access token (Bearer), is
rate-limited per token, and answers errors in one JSON shape (`enishi.api.errors`).
"""

from django.http import HttpRequest
from django.urls import URLPattern
from ninja import Field, NinjaAPI, Query, Router, Schema

from enishi.activities.api import router as activities_router
from enishi.api import selectors
from enishi.api.auth import TokenAuth, TokenThrottle
from enishi.api.errors import error_responses, install_error_handlers
from enishi.api.schemas import Limit, PageOut, cursor_after_id, id_page, text
from enishi.core.permissions import is_admin, role_of
from enishi.customers.api import router as customers_router
from enishi.deals.api import router as deals_router
from enishi.imports.api import router as imports_router
from enishi.inquiries.api import router as inquiries_router
from enishi.quality.api import router as quality_router
from enishi.quality.upkeep_api import router as upkeep_router
from enishi.sales.api import router as sales_router
from enishi.transfer.api import router as transfer_router

DESCRIPTION = """\
Customer records (kartes), their timeline and tasks, deals and pipelines, inquiries and their
answers, products, orders and contracts (renewals), extra field definitions, staff and search.

* **Authentication**: a personal access token (My settings → API tokens) as
  `Authorization: Bearer enishi_…`. Tokens have the scope `read` or `read write`; writes also
  need a role that may change data. A token stops working when it expires, is revoked, or its
  user is deactivated.
* **Permissions** are those of the screens: a record the token's user may not see answers 404.
* **Pages**: lists are ordered by id (timelines newest first); pass `next_cursor` back as
  `cursor`. `limit` is 1 to 200 (default 50).
* **Changes**: PATCH sends only the fields to change, with the `version` you read (in the body
  or as `If-Match: "<version>"`); responses carry `ETag: "<version>"`. If someone saved the
  record meanwhile, nothing is written and the answer is 409 with the current record. Sent
  both ways, the two must be the same version: if they differ, nothing is written either and
  the answer is 409 (code `version_mismatch`) with the current record.
* **Errors**: `{"detail": …, "errors": [{"field", "code", "message"}]}`, in the language of
  `Accept-Language`, or else the token user's language. `field` names what the request sent,
  as this document names it: a property (`company_id`), a path into one
  (`custom_fields.size`, `lines.0.unit_price`), a query parameter or a header (`If-Match`);
  null when the rule is about the record as a whole.
* **Money** is sent and returned as decimal strings (`"12800"`, `"1980.50"`), never as
  floating-point numbers; order amounts, tax and totals are whole yen.
* **Rate limit**: per token (ENISHI_API_RATE, default 600/min); 429 with `Retry-After`.
"""


class EnishiAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # Handler names are unique across the routers: list_customers, update_task, …
        return operation.view_func.__name__


api = EnishiAPI(
    title="Enishi API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=TokenThrottle(),
)
install_error_handlers(api)


class TeamOut(Schema):
    id: int
    name: str


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    team: TeamOut | None
    role: str
    email: str | None = Field(description="Only for administrators; null otherwise.")


class UserPage(PageOut):
    results: list[UserOut]


class UserQuery(Schema):
    cursor: text(200) | None = None
    limit: Limit = 50


users_router = Router(tags=["users"])


@users_router.get(
    "/users", response={200: UserPage, **error_responses(401, 422, 429)}, summary="List staff"
)
def list_users(request: HttpRequest, query: Query[UserQuery]):
    """Active staff, in id order: who can own a karte or be assigned a task."""
    show_email = is_admin(request.user)
    found = selectors.user_list(after=cursor_after_id(query.cursor), limit=query.limit + 1)
    items, next_cursor = id_page(found, query.limit)
    return {
        "results": [
            {
                "id": u.pk,
                "username": u.username,
                "display_name": u.label,
                "team": {"id": u.team.pk, "name": u.team.name} if u.team else None,
                "role": role_of(u),
                "email": u.email if show_email else None,
            }
            for u in items
        ],
        "next_cursor": next_cursor,
    }


api.add_router("/v1/", transfer_router)  # before customers: /customers/export is not an id
api.add_router("/v1/", "enishi.transfer.cards_api.router")  # vCard / PDF of a karte, vCard import
api.add_router("/v1/", customers_router)
api.add_router("/v1/", imports_router)
api.add_router("/v1/", quality_router)
api.add_router("/v1/", upkeep_router)
api.add_router("/v1/", activities_router)
api.add_router("/v1/", deals_router)
api.add_router("/v1/", inquiries_router)
api.add_router("/v1/", sales_router)
api.add_router("/v1/", users_router)


def api_urls() -> tuple[list[URLPattern], str, str]:
    """The API's URL patterns. Its views authenticate by token, not by session, so the
    log-in-required middleware leaves them alone (the docs are public: they hold no data)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace
