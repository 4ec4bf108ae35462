"""Per-key and per-IP (anonymous) rate limits, counted in the shared cache."""

from rest_framework.throttling import SimpleRateThrottle

from ventanilla.api.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "staff", "ident": request.user.pk}
        return None


class AnonIpRateThrottle(SimpleRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.auth is not None or (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
