from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from enishi.activities.selectors import my_tasks
from enishi.customers.selectors import customer_visible


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    tasks = my_tasks(request.user, limit=10)
    recent = (
        customer_visible(request.user)
        .filter(updated_by=request.user)
        .select_related("company")
        .order_by("-updated_at", "-id")[:10]
    )
    return render(request, "core/home.html", {"tasks": tasks, "recent": recent})


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})
