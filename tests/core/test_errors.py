"""A database that cannot be reached gives people a 503 "try again in a moment" page with
Retry-After (not the 500 page), and other errors still give the 500 page."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from ventanilla.portal import views as portal_views

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"),
                                   InterfaceError("connection already closed")])
def test_database_outage_gives_a_503_page_in_spanish(monkeypatch, settings, error):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 7

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(portal_views, "render", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    body = response.content.decode()
    assert "Servicio no disponible por un momento" in body
    assert "server closed" not in body and "Traceback" not in body


def test_other_errors_still_give_the_500_page(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(portal_views, "render", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Tuvimos un problema" in response.content.decode()
