from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ventanilla.operations.health import FAIL, OK, health_report


@never_cache
@require_safe
def healthz(request):
    """Readiness, for load balancers, monitors, ``make run`` and the uptime probe: the
    database and the queue (503 naming the failing check when one fails) and the worker's
    heartbeat (``degraded``, still 200 unless ``?strict=1``). See operations/health.py."""
    report = health_report()
    strict = request.GET.get("strict") in {"1", "true", "yes"}
    healthy = report["status"] == OK or (report["status"] != FAIL and not strict)
    return JsonResponse(report, status=200 if healthy else 503)


@never_cache
@require_safe
def healthz_live(request):
    """Liveness: the process answers. Touches nothing else (a load balancer restarting web
    processes because the database is down would only add load)."""
    return JsonResponse({"status": OK})
