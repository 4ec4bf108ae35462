"""The 500 handler: a database that cannot be reached (PostgreSQL restarting, failing over,
out of connections) is a temporary outage, not a defect, so people get a 503 page that
says so, with Retry-After, instead of the generic error page. The API answers the same
case with a JSON 503 (``api.exceptions``)."""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error


def database_unreachable(exc: BaseException | None) -> bool:
    """A lost or refused database connection (psycopg's OperationalError: server restart,
    "terminating connection due to administrator command", connection refused; Django's
    InterfaceError: a connection already closed). SQLite's "database is locked" is an
    OperationalError too and equally passes: a retry is the answer to both."""
    return isinstance(exc, OperationalError | InterfaceError)


@requires_csrf_token
def server_error(request, template_name="500.html"):
    exc = sys.exc_info()[1]
    if not database_unreachable(exc):
        return django_server_error(request, template_name=template_name)
    # Rendered without a request context: the context processors would touch the database.
    body = loader.get_template("503.html").render({})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    return response
