"""``Authorization: Api-Key vk_...`` (or ``X-Api-Key``) → the integration's ApiKey."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ventanilla.api.services import api_key_authenticate


class ApiKeyUser(AnonymousUser):
    """``request.user`` for a key: not a staff member; the key is ``request.auth``."""

    @property
    def is_authenticated(self):  # DRF's IsAuthenticated and throttles look at this
        return True


def raw_key_from(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "api-key":
        return value.strip()
    return request.META.get("HTTP_X_API_KEY") or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from(request)
        if raw is None:
            return None
        api_key = api_key_authenticate(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Clave de API inválida o revocada."))
        return ApiKeyUser(), api_key

    def authenticate_header(self, request):
        return 'Api-Key realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ventanilla.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                "description": "También `Authorization: Api-Key vk_...`."}
