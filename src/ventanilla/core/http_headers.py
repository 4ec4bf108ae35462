"""Response headers Django has no setting for (CSP is django-csp's, HSTS and COOP Django's)."""

from django.conf import settings


class SecurityHeadersMiddleware:
    """Adds ``Permissions-Policy`` (the browser features no page of ours uses are switched off,
    so injected or third-party code cannot ask for the camera, microphone or location) and
    ``Cross-Origin-Resource-Policy`` (other sites cannot embed our responses, e.g. a ticket's
    attachment, with <img> or <script>). A view that already set a header keeps its value."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = ", ".join(
            f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DISABLED
        )
        self.resource_policy = settings.CROSS_ORIGIN_RESOURCE_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if self.resource_policy:
            response.headers.setdefault("Cross-Origin-Resource-Policy", self.resource_policy)
        return response
