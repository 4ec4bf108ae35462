"""The dashboards in a real browser on a phone-sized screen: nothing loaded from outside the
server, the charts fit the screen (they scale with their viewBox) and are announced as
images with a name, a quick period link works."""

import os
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, channel, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.reports.services import rollup_rebuild

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_dashboard_on_a_phone(browser, live_server):
    catalog = make_catalog()
    now = timezone.now()
    for days, code in ((20, "web"), (10, "web"), (5, "phone"), (2, "email")):
        open_ticket(catalog, channel=channel(code), received_at=now - timedelta(days=days))
    rollup_rebuild()
    auditor = UserFactory(email="auditora@example.cl")
    MembershipFactory(user=auditor, institution=catalog["institution"], role=Role.AUDITOR)

    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="es-CL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    origin = urlparse(live_server.url)
    outside = []
    page.on("request", lambda request: outside.append(request.url) if urlparse(
        request.url).netloc != origin.netloc and not request.url.startswith("data:") else None)

    page.goto(f"{live_server.url}/consola/tableros/")
    page.wait_for_url(re.compile(r"/cuenta/ingresar/"))
    page.fill("input[name=username]", "auditora@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^https?://[^/]+/consola/tableros/$"))
    page.get_by_role("link", name="Últimos 30 días").click()
    page.wait_for_url(re.compile(r"desde="))

    chart = page.locator("#volumen-canal").get_by_role("img", name="Requerimientos por canal")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert 0 < box["width"] <= 375
    # No part of the page is wider than the phone's screen because of a chart.
    widest_svg = page.evaluate(
        "Math.max(...[...document.querySelectorAll('svg.chart')]"
        ".map(svg => svg.getBoundingClientRect().right))")
    assert widest_svg <= 375
    assert page.locator("#volumen-canal table caption").inner_text().startswith(
        "Requerimientos por canal")
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"], full_page=True)
    assert outside == []
    context.close()
