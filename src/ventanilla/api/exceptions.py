"""Errors as JSON, never a 500 for bad input: service ValidationErrors become 400 with
field errors, PermissionDenied 403, RequestDataTooBig 413, conflicts 409, a temporary upload
failure (storage full, virus scanner down: nothing stored) 503, and a database
that cannot be reached (restart, failover, network cut) 503 with Retry-After: the request
changed nothing that was not rolled back, so the client retries it (with the same
Idempotency-Key for a write)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ventanilla.core.errors import database_unreachable
from ventanilla.tickets.uploads import UploadUnavailable

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("La solicitud es demasiado grande.")
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("La clave de idempotencia ya se usó con otro contenido.")
    default_code = "conflict"


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("El servicio no está disponible por un momento. Reintente en unos "
                       "segundos; con la misma clave de idempotencia el reintento es seguro.")
    default_code = "unavailable"


def validation_error_detail(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): v
                for k, v in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # Django's own limits on a multipart body (DATA_UPLOAD_MAX_NUMBER_FIELDS/_FILES).
        exc = exceptions.ValidationError(
            {"non_field_errors": [_("Demasiados campos o archivos en la solicitud.")]})
    elif isinstance(exc, UploadUnavailable):
        # Storage or virus scanner down: nothing was stored, the same request may be retried.
        response = Response(validation_error_detail(exc),
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = "60"
        return response
    elif isinstance(exc, DjangoValidationError):
        return Response(validation_error_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(_("No tiene permiso para esta acción."))
    elif database_unreachable(exc):
        logger.warning("API request failed, database unreachable: %s", exc)
        response = exception_handler(DatabaseUnavailable(), context)
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response
    return exception_handler(exc, context)
