"""End to end in a real browser: a person files a request from a phone-sized screen, gets a
folio, and a staff member finds it in the console inbox and opens it."""

import re

import pytest

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_catalog
from ventanilla.accounts.models import Role
from ventanilla.core.models import Comuna
from ventanilla.tickets.models import Attachment, Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_request_from_portal_reaches_staff_inbox(browser, live_server, png_file, settings):
    # A script fills the form faster than any person: the anti-spam timer has its own tests.
    settings.ANTISPAM_MIN_SECONDS = 0
    catalog = make_catalog()
    institution = catalog["institution"]
    valparaiso = Comuna.objects.get(code="05101")
    school = OrganizationFactory(institution=institution, name="Escuela República de Chile",
                                 comuna=valparaiso, region=valparaiso.region)
    staff = UserFactory(email="canal@example.cl")
    MembershipFactory(user=staff, institution=institution, role=Role.TRIAGE)

    phone = browser.new_context(viewport={"width": 375, "height": 740}, locale="es-CL")
    page = phone.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name=re.compile(institution.name)).first.click()
    page.wait_for_url(re.compile(rf"/{institution.slug}/solicitud/"))

    # The page fits a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.fill("#id_full_name", "Marcela Rojas Díaz")
    page.fill("#id_rut", "12.531.909-2")
    page.fill("#id_email", "marcela.rojas@example.cl")
    page.fill("#id_phone", "+56 9 8765 4321")
    page.check(f"input[name=requester_type][value='{catalog['requester_type'].pk}']")
    page.select_option("#id_region", valparaiso.region_id)
    # The comuna list follows the region: a Santiago comuna is no longer offered.
    assert page.locator("#id_comuna option[value='13101']").is_disabled()
    page.select_option("#id_comuna", valparaiso.code)
    page.select_option("#id_organization", str(school.pk))
    page.check(f"input[name=ticket_type][value='{catalog['complaint'].pk}']")
    page.select_option("#id_topic", str(catalog["topic"].pk))
    page.fill("#id_subject", "Colación llegó en mal estado")
    page.fill("#id_detail", "El martes la colación de 4° básico llegó fría y en mal estado.")
    page.set_input_files("#id_attachments", str(png_file))
    page.get_by_role("button", name=re.compile("Enviar")).click()

    folio_locator = page.locator(".folio").first
    folio_locator.wait_for()
    folio = folio_locator.inner_text().strip()
    assert re.fullmatch(rf"{institution.folio_prefix}-\d{{4}}-\d{{6}}", folio)
    ticket = Ticket.objects.get(folio=folio)
    assert ticket.contact_rut == "125319092"
    assert ticket.comuna_id == valparaiso.code and ticket.organization_id == school.pk
    assert Attachment.objects.filter(ticket=ticket).count() == 1
    phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CL")
    page = desk.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/consola/")
    page.wait_for_url(re.compile(r"/cuenta/ingresar/"))
    page.fill("input[name=username]", "canal@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.get_by_role("button", name=re.compile("Ingresar")).click()
    page.wait_for_url(re.compile(r"/consola/"))

    page.fill("input[name=q]", folio)
    page.keyboard.press("Enter")
    row_link = page.get_by_role("link", name=folio)
    row_link.wait_for()
    assert page.get_by_text("Colación llegó en mal estado").count() >= 1
    row_link.click()
    page.wait_for_url(re.compile(rf"/consola/r/{folio}/"))
    assert page.get_by_role("heading", name=re.compile(folio)).count() >= 1
    assert page.get_by_text("foto-colacion.png").count() >= 1
    desk.close()
