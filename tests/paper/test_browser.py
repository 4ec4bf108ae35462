"""End to end in a real browser: an operator uploads a photographed paper form, types it in
next to the photo and gets the folio to write on the paper."""

import os
import re

import pytest

from tests.browser.conftest import browser  # noqa: F401  (the Playwright fixture)
from tests.factories import MembershipFactory, UserFactory, make_catalog
from ventanilla.accounts.models import Role
from ventanilla.paper.models import IntakeStatus, PaperIntake
from ventanilla.tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOTS = os.environ.get("PAPER_SCREENSHOTS", "")  # a folder, to look at the pages


def _shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_operator_uploads_and_transcribes_a_paper_form(browser, live_server,  # noqa: F811
                                                       tmp_path):
    from PIL import Image

    catalog = make_catalog()
    institution = catalog["institution"]
    org = catalog["organization"]
    operator = UserFactory(email="mesa@example.cl")
    MembershipFactory(user=operator, institution=institution, role=Role.OPERATOR)
    photo = tmp_path / "formulario.jpg"
    Image.new("RGB", (300, 420), (240, 240, 230)).save(photo, "JPEG")

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CL")
    page = desk.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/consola/papel/")
    page.wait_for_url(re.compile(r"/cuenta/ingresar/"))
    page.fill("input[name=username]", "mesa@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.get_by_role("button", name=re.compile("Ingresar")).click()
    page.wait_for_url(re.compile(r"/consola/papel/$"))
    _shot(page, "1-list")

    page.get_by_role("link", name="Subir formulario").click()
    page.set_input_files("#id_pages", str(photo))
    page.get_by_role("button", name=re.compile("Subir")).click()
    page.wait_for_url(re.compile(r"/consola/papel/\d+/$"))
    # The photo is shown beside the form (side by side on a wide screen).
    image = page.get_by_role("img", name=re.compile("Página 1 de 1"))
    image.wait_for()
    assert page.evaluate("document.querySelector('.paper-photos img').naturalWidth") == 300
    photos_box = page.locator(".paper-photos").bounding_box()
    form_box = page.locator(".paper-form").bounding_box()
    assert photos_box["x"] + photos_box["width"] <= form_box["x"]
    _shot(page, "2-transcribe")

    page.fill("#id_full_name", "Rosa Muñoz Araya")
    page.check(f"input[name=requester_type][value='{catalog['requester_type'].pk}']")
    page.select_option("#id_region", org.region_id)
    page.select_option("#id_comuna", org.comuna_id)
    page.check(f"input[name=ticket_type][value='{catalog['complaint'].pk}']")
    page.select_option("#id_topic", str(catalog["topic"].pk))
    page.fill("#id_subject", "Colación fría")
    page.fill("#id_detail", "La colación llegó fría toda la semana.")
    page.get_by_role("button", name="Ingresar requerimiento").click()

    folio_locator = page.locator(".paper-folio")
    folio_locator.wait_for()
    folio = folio_locator.inner_text().strip()
    _shot(page, "3-done")
    ticket = Ticket.objects.get(folio=folio)
    assert ticket.channel.code == "paper" and ticket.attachments.count() == 1
    assert PaperIntake.objects.get().status == IntakeStatus.TRANSCRIBED
    desk.close()

    phone = browser.new_context(viewport={"width": 375, "height": 740}, locale="es-CL")
    page = phone.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/cuenta/ingresar/")
    page.fill("input[name=username]", "mesa@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.get_by_role("button", name=re.compile("Ingresar")).click()
    page.wait_for_url(re.compile(r"/consola/"))
    page.goto(f"{live_server.url}/consola/papel/subir/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_input_files("#id_pages", str(photo))
    page.get_by_role("button", name=re.compile("Subir")).click()
    page.wait_for_url(re.compile(r"/consola/papel/\d+/$"))
    page.get_by_role("img", name=re.compile("Página 1 de 1")).wait_for()
    # On a phone the photo comes first and the form below it; nothing wider than the screen.
    photos_box = page.locator(".paper-photos").bounding_box()
    form_box = page.locator(".paper-form").bounding_box()
    assert photos_box["y"] + photos_box["height"] <= form_box["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    _shot(page, "4-phone")
    phone.close()
