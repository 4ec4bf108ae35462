"""``POST /api/v1/interactions/``: batches of interactions from self-service systems (web
portal analytics, IVR, kiosks, office queue systems, bots). Thin: parse, call
``api_interaction_batch_record``, render. The events are validated by the service itself (one
pass in plain Python, a few queries per batch); the serializers below only document them."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ventanilla.api.exceptions import Conflict
from ventanilla.api.services import IdempotencyConflict
from ventanilla.api.services_interactions import api_interaction_batch_record
from ventanilla.api.throttling import AnonIpRateThrottle, ApiKeyRateThrottle
from ventanilla.api.views import (
    ErrorOut,
    api_key_of,
    check_content_length,
    request_hash,
    require_key_scope,
)
from ventanilla.tickets.services.interactions import (
    BATCH_KINDS,
    DATA_MAX_BYTES,
    INTERACTION_BATCH_MAX,
    InteractionBatchInvalid,
)

IDEMPOTENCY_KEY_MAX = 200


class InteractionBatchThrottle(ApiKeyRateThrottle):
    """Counted per batch, in its own bucket per key: a batch is one request whatever its
    size, so at the default 600/min a key may report up to 600,000 events a minute, and an
    integration's event log never eats the budget of its ticket intake. The rate is
    ``DEFAULT_THROTTLE_RATES["api_interactions"]``, else the per-key rate."""

    scope = "api_interactions"

    def get_rate(self):
        return (self.THROTTLE_RATES.get(self.scope)
                or self.THROTTLE_RATES.get(ApiKeyRateThrottle.scope))


class EventIn(serializers.Serializer):
    channel = serializers.SlugField(
        max_length=30, help_text=_("Código del canal (`web`, `ivr`, `kiosk`, `in_person`…); "
                                   "debe estar permitido para la clave."))
    kind = serializers.ChoiceField(
        choices=list(BATCH_KINDS), required=False,
        help_text=_("Por omisión `self_service` en canales de autoatención y `attended` en los "
                    "asistidos."))
    occurred_at = serializers.DateTimeField(
        help_text=_("Cuándo ocurrió, ISO 8601 con zona horaria; hasta 5 minutos en el futuro "
                    "y 90 días en el pasado."))
    rut = serializers.CharField(required=False, allow_blank=True, max_length=14,
                                help_text=_("Enlaza a la persona si ya es conocida."))
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254,
                                   help_text=_("Enlaza a la persona si ya es conocida."))
    folio = serializers.CharField(required=False, allow_blank=True, max_length=30,
                                  help_text=_("Requerimiento de la misma institución."))
    data = serializers.DictField(required=False, help_text=_(
        "Datos adicionales (objeto JSON de hasta %(max)d bytes).") % {"max": DATA_MAX_BYTES})


class BatchOut(serializers.Serializer):
    idempotency_key = serializers.CharField(source="key")
    accepted = serializers.IntegerField(source="count")
    received_at = serializers.DateTimeField(source="created_at")


class InteractionBatchApi(APIView):
    parser_classes = [JSONParser]
    throttle_classes = [InteractionBatchThrottle, AnonIpRateThrottle]

    @extend_schema(
        operation_id="interactions_record_batch",
        request={"application/json": EventIn(many=True)},
        parameters=[OpenApiParameter(
            "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
            description="Obligatoria. Reintentar el mismo lote con la misma clave devuelve la "
                        "primera respuesta sin duplicar eventos; otro contenido con la misma "
                        "clave es un conflicto (409).")],
        responses={
            201: BatchOut,
            200: OpenApiResponse(BatchOut, description="Reintento de un lote ya guardado."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description=(
                "Lote rechazado completo: `non_field_errors` lo resume y `events` da, por "
                "posición (desde 0), los errores de cada campo.")),
            401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut,
            429: ErrorOut,
        },
        examples=[OpenApiExample("IVR", request_only=True, value=[
            {"channel": "ivr", "occurred_at": "2026-03-02T10:15:00-03:00",
             "data": {"menu": "estado-beneficio"}},
            {"channel": "ivr", "kind": "tracking", "occurred_at": "2026-03-02T10:16:30-03:00",
             "folio": "JUN-2026-000123"},
        ])],
        description=f"Registra un lote de hasta {INTERACTION_BATCH_MAX} interacciones (contactos "
                    "de autoatención u oficina que no abren requerimiento) en una sola "
                    "transacción: se guarda completo o nada. Requiere una clave de API con "
                    "escritura y los canales permitidos.")
    def post(self, request):
        api_key = api_key_of(request)
        if api_key is None:
            if not request.user.is_authenticated:
                raise exceptions.NotAuthenticated(_("Se requiere una clave de API."))
            raise exceptions.PermissionDenied(_("Registrar interacciones requiere una clave de "
                                                "API de la integración."))
        require_key_scope(request, write=True)
        check_content_length(request, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key:
            raise exceptions.ValidationError({"Idempotency-Key": [_(
                "Indique una clave de idempotencia: permite reintentar el lote sin "
                "duplicarlo.")]})
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [_("La clave de idempotencia es demasiado larga.")]})
        events = request.data
        if not isinstance(events, list):
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Envíe una lista JSON de eventos.")]})
        try:
            batch, created = api_interaction_batch_record(
                institution=api_key.institution, events=events, scope=f"key:{api_key.pk}",
                key=key, request_hash=request_hash(request), source=f"api_key:{api_key.pk}",
                allowed_channels=set(api_key.channels.values_list("code", flat=True)))
        except IdempotencyConflict:
            raise Conflict() from None
        except InteractionBatchInvalid as invalid:
            body = {"non_field_errors": [invalid.message]}
            if invalid.errors:
                body["events"] = {str(index): fields for index, fields in invalid.errors.items()}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        response = Response(BatchOut(batch).data,
                            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response
