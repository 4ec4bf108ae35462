"""``POST /bench/insert/``: parse a JSON body, insert one row, answer 201 with its id. The
physical limit of "a Django request that writes one row" on this server setup."""

import json

from bench.yardstick.models import YardstickRow
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def insert(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "invalid JSON"}, status=400)
    row = YardstickRow.objects.create(
        subject=str(body.get("subject", ""))[:200], detail=str(body.get("detail", "")),
        email=str(body.get("email", ""))[:254],
    )
    return JsonResponse({"id": row.pk}, status=201)
