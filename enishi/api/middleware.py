"""Every answer under /api/ is JSON: a path no operation has (404), a method an operation does
not take (405) or an address outside the API's operations (which the log-in middleware would
send to the log-in page) get the API's error shape instead of an HTML page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
HTML_ALLOWED = ("/api/docs",)


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or request.path.startswith(HTML_ALLOWED):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        if status == 405:
            allowed = response.get("Allow", "")
            answer = JsonResponse(
                {
                    "detail": _("This method is not allowed here (allowed: %(methods)s).")
                    % {"methods": allowed or "—"},
                    "errors": [],
                },
                status=405,
            )
            if allowed:
                answer["Allow"] = allowed
            return answer
        login = resolve_url(settings.LOGIN_URL)
        if status == 404 or (status == 302 and response.get("Location", "").startswith(login)):
            return JsonResponse({"detail": _("Not found."), "errors": []}, status=404)
        return response
