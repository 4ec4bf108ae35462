"""The operator console in a real browser, keyboard only: look a caller up by RUT, see their
history, start a ticket, lose the page (reload) without losing the text, submit, get the
folio. Nothing is loaded from outside the server."""

import re
from urllib.parse import urlparse

import pytest

from tests.factories import MembershipFactory, UserFactory, channel, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.console.models import OperatorDraft
from ventanilla.tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _focus_and_type(page, selector, text):
    page.locator(selector).focus()
    page.keyboard.type(text)


def test_operator_registers_a_ticket_by_keyboard_and_keeps_the_draft(browser, live_server):
    catalog = make_catalog()
    institution = catalog["institution"]
    previous = open_ticket(catalog, contact=ContactData(
        full_name="Marcela Rojas", email="marcela@example.cl", phone="+56 9 8765 4321",
        rut="125319092"), subject="Reclamo anterior por la web")
    open_ticket(catalog, contact=ContactData(full_name="Marcela Rojas",
                                             email="marcela@example.cl", rut="125319092"),
                subject="Llamado anterior", channel=channel("phone"))
    operator = UserFactory(email="operador@example.cl")
    MembershipFactory(user=operator, institution=institution, role=Role.OPERATOR)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    origin = urlparse(live_server.url)
    outside = []
    page.on("request", lambda request: outside.append(request.url) if urlparse(
        request.url).netloc != origin.netloc and not request.url.startswith("data:") else None)

    page.goto(f"{live_server.url}/consola/operador/")
    page.wait_for_url(re.compile(r"/cuenta/ingresar/"))
    page.fill("input[name=username]", "operador@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^https?://[^/]+/consola/operador/$"))
    page.wait_for_function("document.activeElement.id === 'operator-lookup-q'")

    # The lookup box has the focus on load: type the RUT as the caller dictates it, Enter.
    page.keyboard.type("12.531.909-2")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consola/operador/persona/\d+/"))

    # The whole history first: both tickets, both channels.
    assert page.get_by_role("heading", name="Marcela Rojas").is_visible()
    history = page.locator("#history-tickets-title").locator("xpath=..")
    assert previous.folio in history.inner_text()
    contacts = page.locator(".operator-timeline").inner_text()
    assert "Web" in contacts or "web" in contacts.lower()
    assert "Teléfono" in contacts

    # Alt+N opens "Nuevo requerimiento", pre-filled with the person's data.
    page.keyboard.press("Alt+n")
    page.wait_for_url(re.compile(r"/persona/\d+/nuevo/"))
    assert page.input_value("#id_full_name") == "Marcela Rojas"
    assert page.input_value("#id_rut") == "12.531.909-2"
    assert page.is_checked("input[name=channel][value=phone]")

    # Keyboard only: radios with Space, selects with the keyboard, text typed.
    page.locator(f"input[name=requester_type][value='{catalog['requester_type'].pk}']").focus()
    page.keyboard.press("Space")
    org = catalog["organization"]
    page.locator("#id_region").focus()
    page.select_option("#id_region", org.region_id)
    page.select_option("#id_comuna", org.comuna_id)
    page.locator(f"input[name=ticket_type][value='{catalog['complaint'].pk}']").focus()
    page.keyboard.press("Space")
    page.select_option("#id_topic", str(catalog["topic"].pk))
    _focus_and_type(page, "#id_subject", "Colación fría otra vez")
    _focus_and_type(page, "#id_detail", "Llama para contar que la colación llegó fría.")
    page.get_by_text(re.compile("Borrador guardado a las")).wait_for()
    detail = "Llama para contar que la colación llegó fría."
    assert OperatorDraft.objects.get(user=operator).data["detail"] == detail

    # The connection drops: the typing is kept in the browser and sent when it is back.
    context.set_offline(True)
    _focus_and_type(page, "#id_detail", " Sin conexión.")
    page.keyboard.press("Tab")
    page.get_by_text(re.compile("Sin conexión: borrador guardado en este equipo")).wait_for()
    assert OperatorDraft.objects.get(user=operator).data["detail"] == detail
    context.set_offline(False)
    page.get_by_text(re.compile("Borrador guardado a las")).wait_for()
    detail += " Sin conexión."
    assert OperatorDraft.objects.get(user=operator).data["detail"] == detail

    # A crash or a dropped connection: reload, the text is back.
    page.reload()
    assert page.input_value("#id_subject") == "Colación fría otra vez"
    assert page.input_value("#id_detail") == detail
    assert page.get_by_text(re.compile("Se recuperó un borrador guardado a las")).is_visible()
    assert page.get_by_role("button", name="Descartar borrador").is_visible()

    # Submit with the keyboard: the folio is shown, the draft is gone (server and browser).
    page.get_by_role("button", name="Registrar requerimiento").focus()
    page.keyboard.press("Enter")
    folio_locator = page.locator("[data-operator-folio]")
    folio_locator.wait_for()
    folio = folio_locator.inner_text().strip()
    assert re.fullmatch(rf"{institution.folio_prefix}-\d{{4}}-\d{{6}}", folio)
    ticket = Ticket.objects.get(folio=folio)
    assert ticket.channel.code == "phone" and ticket.created_by_id == operator.pk
    assert ticket.citizen_id == previous.citizen_id
    assert not OperatorDraft.objects.filter(user=operator).exists()
    left = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith("
                         "'ventanilla:operator:')).length")
    assert left == 0

    # The visible focus indicator exists for keyboard users.
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    assert outside == []
    context.close()


def test_operator_console_fits_a_phone(browser, live_server):
    catalog = make_catalog()
    ticket = open_ticket(catalog, contact=ContactData(full_name="Pedro Pérez",
                                                      email="pedro@example.cl"))
    operator = UserFactory(email="mostrador@example.cl")
    MembershipFactory(user=operator, institution=catalog["institution"], role=Role.OPERATOR)
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="es-CL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/cuenta/ingresar/?next=/consola/operador/")
    page.fill("input[name=username]", "mostrador@example.cl")
    page.fill("input[name=password]", "clave-segura-123")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^https?://[^/]+/consola/operador/$"))
    page.wait_for_function("document.activeElement.id === 'operator-lookup-q'")
    page.keyboard.type("pedro@example.cl")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consola/operador/persona/\d+/"))
    assert ticket.folio in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()
