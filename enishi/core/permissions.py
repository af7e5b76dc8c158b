"""Who may do what. Record visibility (which kartes exist for a user) is decided in
`customers.selectors.customer_visible`; this module answers the yes/no questions about actions.

Roles:
- admin: settings, users, every record, trash purge.
- manager: every record of their team (owned by a team member or assigned to the team) and
  the unassigned pool; restores from the trash; sees sensitive fields.
- member: their own records, and their team's when ENISHI_MEMBER_SCOPE is "team" (default).
- read-only: sees what a member sees, changes nothing.
"""

from functools import wraps

from django.conf import settings
from django.http import Http404


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def role_of(user) -> str:
    if not _active(user):
        return ""
    if user.is_superuser:
        return "admin"
    return user.role


def is_admin(user) -> bool:
    return role_of(user) == "admin"


def is_manager_or_admin(user) -> bool:
    return role_of(user) in ("admin", "manager")


def can_write(user) -> bool:
    """Any change to customer data (every write also needs the record to be visible)."""
    return role_of(user) in ("admin", "manager", "member")


def can_view_sensitive(user) -> bool:
    """Sensitive custom fields (要配慮個人情報): only roles the setting names."""
    return role_of(user) in settings.ENISHI_SENSITIVE_ROLES


def can_restore(user) -> bool:
    return is_manager_or_admin(user)


def can_purge(user) -> bool:
    return is_admin(user)


def admin_required(view):
    """Settings screens: admins only. Others get a 404, as for anything they may not see."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def write_required(view):
    """Views that change data: read-only users get a 404 (the action does not exist for them)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_write(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
