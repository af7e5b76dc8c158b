"""Access checks shared by every app. Record-level visibility lives in the selectors."""

from functools import wraps

from django.http import Http404


def is_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.is_staff))


def admin_required(view):
    """Settings screens: admins only. Others get a 404, as for anything they may not see."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
