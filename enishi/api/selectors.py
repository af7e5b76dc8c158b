"""Reads the API needs that the domain apps do not offer (yet). Each starts from the same
permission filter as the screens: `customers.selectors.customer_visible`.
"""

import datetime
import hmac

from django.db.models import QuerySet
from django.http import Http404

from enishi.accounts.models import Team, User
from enishi.activities.models import Activity, Task
from enishi.api.models import ApiToken
from enishi.api.services import TOKEN_PREFIX, token_hash
from enishi.core.permissions import can_view_sensitive
from enishi.customers import fields as custom_fields
from enishi.customers.models import Customer, FieldDefinition, Tag
from enishi.customers.selectors import CustomerFilters, customer_list, customer_visible


def token_list_for_user(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_get_for_user(user: User, pk: int) -> ApiToken:
    try:
        return ApiToken.objects.get(user=user, pk=pk)
    except (ApiToken.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def token_find(raw: str) -> ApiToken | None:
    """The token row this secret belongs to (any state), or None for anything unknown."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 8:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.token_hash, token_hash(raw.strip())):
        return None
    return token


def customer_page(
    user: User,
    filters: CustomerFilters,
    *,
    tag_name: str = "",
    updated_since: datetime.datetime | None = None,
    after: int | None = None,
    limit: int,
) -> list[Customer]:
    """One page of the customer list in id order (stable under concurrent edits)."""
    if tag_name:
        tag = Tag.objects.filter(name=tag_name).first()
        if tag is None:
            return []
        filters.tag = tag.pk
    qs = customer_list(user, filters)
    if updated_since is not None:
        qs = qs.filter(updated_at__gte=updated_since)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.order_by("pk").prefetch_related("tags")[:limit])


def activity_get(user: User, pk: int) -> Activity:
    """An activity on a karte the user may see, or 404."""
    try:
        return Activity.objects.select_related("customer").get(
            pk=pk, deleted_at__isnull=True, customer__in=customer_visible(user)
        )
    except (Activity.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def task_list(
    user: User,
    *,
    assignee_id: int | None = None,
    done: bool | None = None,
    due_before: datetime.date | None = None,
    due_after: datetime.date | None = None,
    customer_id: int | None = None,
    after: int | None = None,
    limit: int,
) -> list[Task]:
    qs = Task.objects.filter(deleted_at__isnull=True, customer__in=customer_visible(user))
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if done is not None:
        qs = qs.filter(done_at__isnull=not done)
    if due_before is not None:
        qs = qs.filter(due_on__lt=due_before)
    if due_after is not None:
        qs = qs.filter(due_on__gt=due_after)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.order_by("pk")[:limit])


def user_list(*, after: int | None = None, limit: int) -> list[User]:
    """Active staff (everyone may see who their colleagues are, as in the owner choice)."""
    qs = User.objects.filter(is_active=True).select_related("team")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return list(qs.order_by("pk")[:limit])


def user_get_active(pk: int) -> User | None:
    return User.objects.filter(pk=pk, is_active=True).first()


def user_active_or_422(field: str, pk: int | None) -> User | None:
    """An active user chosen by id in a request body (owner, assignee, staff); None stays None."""
    from django.utils.translation import gettext as _

    from enishi.api.errors import Unprocessable

    if pk is None:
        return None
    user = user_get_active(pk)
    if user is None:
        raise Unprocessable.field(field, "invalid", _("Choose an active user."))
    return user


def team_get(pk: int) -> Team | None:
    return Team.objects.filter(pk=pk).first()


def field_definitions_for(user: User) -> list[FieldDefinition]:
    """Active definitions, without the sensitive ones for roles that may not see them."""
    allowed = can_view_sensitive(user)
    return [d for d in custom_fields.active_definitions() if allowed or not d.sensitive]
