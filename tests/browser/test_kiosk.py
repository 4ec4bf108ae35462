"""The office kiosk in a real browser: staff pair the tablet once, then a person touches a
face, sees the thanks, and the question comes back (on a touch, and by itself). Nothing is
loaded from outside the server."""

import re
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.factories import UserFactory, make_catalog
from tests.surveys.helpers import make_office, make_survey
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.surveys.models import Kiosk, Source, SurveyResponse
from ventanilla.surveys.views_kiosk import KIOSK_COOKIE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_kiosk_pairing_and_answers(browser, live_server):
    catalog = make_catalog()
    institution = catalog["institution"]
    office = make_office(institution, "Oficina Centro")
    make_survey(institution, channel_code="in_person", scale=5,
                question="¿Cómo lo atendimos hoy?")
    staff(institution, Role.OPERATOR, user=UserFactory(email="meson@example.cl"))

    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="es-CL",
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    origin = urlparse(live_server.url)
    outside = []
    page.on("request", lambda request: outside.append(request.url) if urlparse(
        request.url).netloc != origin.netloc and not request.url.startswith("data:") else None)

    # Before pairing the device is refused, showing nothing.
    page.goto(f"{live_server.url}/kiosco/")
    assert "Este dispositivo no está habilitado" in page.inner_text("body")

    # Staff pair it once.
    page.goto(f"{live_server.url}/consola/encuestas/kioscos/")
    page.wait_for_url(re.compile(r"/cuenta/ingresar/"))
    page.fill("input[name=username]", "meson@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consola/encuestas/kioscos/$"))
    page.get_by_label("Oficina").select_option(str(office.pk))
    page.get_by_label("Nombre del dispositivo").fill("Tablet mesón 1")
    page.get_by_role("button", name="Emparejar este dispositivo").click()
    page.wait_for_url(re.compile(r"/kiosco/$"))
    kiosk = Kiosk.objects.get()
    assert kiosk.office == office

    # The person does not log in: drop the staff session, keep only the kiosk's cookie.
    cookies = [c for c in context.cookies() if c["name"] != settings.SESSION_COOKIE_NAME]
    assert any(c["name"] == KIOSK_COOKIE and c["httpOnly"] and c["sameSite"] == "Strict"
               for c in cookies)
    context.clear_cookies()
    context.add_cookies(cookies)
    page.goto(f"{live_server.url}/kiosco/")
    assert page.get_by_text("¿Cómo lo atendimos hoy?").is_visible()

    # Big faces, each one a button named by its label.
    faces = page.locator("button.kiosk-face")
    assert faces.count() == 5
    for index in range(5):
        box = faces.nth(index).bounding_box()
        assert box["width"] >= 64 and box["height"] >= 64

    # Touch a face: thanks, then a touch brings the question back at once.
    page.get_by_role("button", name="Muy buena").tap()
    page.wait_for_url(re.compile(r"/kiosco/gracias/$"))
    assert "¡Gracias!" in page.inner_text("body")
    assert "Muy buena" not in page.inner_text("body")
    page.locator("a.kiosk-thanks").tap()
    page.wait_for_url(re.compile(r"/kiosco/$"))
    assert page.locator("button.kiosk-face").count() == 5

    # Next person: answer and leave; the page goes back to the question by itself.
    page.get_by_role("button", name="Mala", exact=True).tap()
    page.wait_for_url(re.compile(r"/kiosco/gracias/$"))
    page.wait_for_url(re.compile(r"/kiosco/$"))
    page.locator("button.kiosk-face").first.wait_for()

    answers = list(SurveyResponse.objects.order_by("pk").values_list("score", "source",
                                                                      "office_id"))
    assert answers == [(5, Source.KIOSK, office.pk), (2, Source.KIOSK, office.pk)]
    assert outside == []
    context.close()
