"""The public request form: happy path, idempotency and every kind of bad input."""

import html
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import InstitutionFactory, OrganizationFactory, UserFactory
from tests.portal.helpers import (
    EXECUTABLE,
    MINIMAL_PDF,
    pdf_file,
    png_bytes,
    png_file,
    request_payload,
)
from ventanilla.catalog.models import Topic
from ventanilla.core.models import Comuna
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_home_lists_active_institutions_only(client, catalog):
    inactive = InstitutionFactory(name="Servicio Cerrado", is_active=False)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    text = _text(response)
    assert catalog["institution"].name in text
    assert reverse("portal:request-new", args=[catalog["institution"].slug]) in text
    assert inactive.name not in text
    assert reverse("portal:track") in text
    assert reverse("accounts:signup") in text


def test_unknown_or_inactive_institution_is_404(client):
    assert client.get(reverse("portal:request-new", args=["no-existe"])).status_code == 404
    inactive = InstitutionFactory(is_active=False)
    assert client.get(reverse("portal:request-new", args=[inactive.slug])).status_code == 404


def test_form_renders_fieldsets_filters_and_token(client, catalog, request_url):
    child = Topic.objects.create(institution=catalog["institution"], name="Colación",
                                 parent=catalog["topic"])
    response = client.get(request_url)
    assert response.status_code == 200
    text = _text(response)
    legends = ["Identificación y contacto", "Tipo de usuario", "Ubicación", "Establecimiento",
               "Su solicitud", "Adjuntos"]
    positions = [text.index(f"<legend>{legend}</legend>") for legend in legends]
    assert positions == sorted(positions)
    assert 'data-filter-by="id_region"' in text
    assert 'data-filter-by="id_comuna"' in text
    assert '<option value="13101" data-parent="13">Santiago</option>' in text
    assert '<optgroup label="Región Metropolitana de Santiago">' in text
    organization = catalog["organization"]
    assert f'value="{organization.pk}" data-parent="13101"' in text
    assert 'type="file"' in text and "multiple" in text and 'accept=".jpg' in text
    assert f'<option value="{child.pk}">\u00a0\u00a0\u00a0\u00a0Colación</option>' in text
    checked = re.findall(r'<input type="radio" name="urgency" value="(\w+)"[^>]* checked>', text)
    assert checked == ["medium"]
    token = response.context["form"]["idempotency_key"].value()
    assert str(uuid.UUID(token))
    assert "style=" not in text and "<script>" not in text


def test_logged_in_citizen_gets_name_and_email_prefilled(client, catalog, request_url):
    user = UserFactory(first_name="Ana", last_name="Pérez", email="ana@example.cl")
    client.force_login(user)
    form = client.get(request_url).context["form"]
    assert form["full_name"].value() == "Ana Pérez"
    assert form["email"].value() == "ana@example.cl"


def test_happy_path_stores_every_field_and_sends_the_acknowledgement(
    client, catalog, request_url, mailoutbox, django_capture_on_commit_callbacks
):
    data = request_payload(catalog, attachments=[png_file("foto colación.png"), pdf_file()])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(request_url, data)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("portal:request-done", args=[ticket.public_id])
    assert ticket.institution == catalog["institution"]
    assert ticket.channel.code == "web"
    assert ticket.contact_name == "Juana Soto Pérez"
    assert ticket.contact_rut == "123456785"
    assert ticket.contact_email == "juana.soto@example.cl"
    assert ticket.contact_phone == "+56 9 1234 5678"
    assert ticket.requester_type == catalog["requester_type"]
    assert ticket.region_id == "13"
    assert ticket.comuna_id == "13101"
    assert ticket.organization == catalog["organization"]
    assert ticket.ticket_type == catalog["complaint"]
    assert ticket.topic == catalog["topic"]
    assert ticket.urgency == "high"
    assert ticket.subject == "La colación no llegó"
    assert ticket.detail == "El lunes 3 no llegó la colación a la escuela."
    assert ticket.idempotency_key == str(uuid.UUID(data["idempotency_key"]))
    assert ticket.citizen.rut == "123456785"
    assert ticket.citizen_id is not None and ticket.citizen.user is None

    attachments = list(Attachment.objects.order_by("id"))
    assert [a.original_name for a in attachments] == ["foto colación.png", "boleta.pdf"]
    assert [a.content_type for a in attachments] == ["image/png", "application/pdf"]
    assert attachments[0].file.read() == png_bytes()
    assert attachments[1].event.kind == "created"

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["juana.soto@example.cl"]
    assert ticket.folio in mailoutbox[0].subject

    done = client.get(response["Location"])
    assert done.status_code == 200
    text = _text(done)
    assert ticket.folio in text
    assert "juana.soto@example.cl" in text
    assert reverse("portal:track") in text


def test_logged_in_citizen_ticket_is_linked_to_the_account(client, catalog, request_url):
    user = UserFactory()
    client.force_login(user)
    assert client.post(request_url, request_payload(catalog)).status_code == 302
    assert Ticket.objects.get().citizen.user == user


def test_rut_and_organization_and_phone_are_optional(client, catalog, request_url):
    data = request_payload(catalog, rut="", organization="", phone="")
    response = client.post(request_url, data)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.contact_rut == "" and ticket.organization is None


def test_done_page_only_for_the_submitting_session(client, catalog, request_url):
    response = client.post(request_url, request_payload(catalog))
    done_url = response["Location"]
    other = type(client)()
    redirected = other.get(done_url)
    assert redirected.status_code == 302
    assert redirected["Location"] == reverse("portal:track")
    unknown = client.get(reverse("portal:request-done", args=[uuid.uuid4()]))
    assert unknown["Location"] == reverse("portal:track")


def test_double_submit_with_the_same_token_creates_one_ticket(client, catalog, request_url):
    data = request_payload(catalog)
    first = client.post(request_url, data)
    second = client.post(request_url, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1
    assert OutboundMessage.objects.count() == 1


def test_different_tokens_create_two_tickets(client, catalog, request_url):
    client.post(request_url, request_payload(catalog))
    client.post(request_url, request_payload(catalog))
    assert Ticket.objects.count() == 2


# --- bad input ---------------------------------------------------------------------------------

def _assert_rejected(response, field: str, message: str, *, kept: dict | None = None):
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert any(message in error for error in form.errors[field]), form.errors[field]
    text = _text(response)
    # Next to the field and in the error summary.
    assert f'id="id_{field}_error"' in text
    assert 'class="error-summary"' in text
    assert text.count(message) >= 2
    for name, value in (kept or {}).items():
        assert form[name].value() == value
    assert Ticket.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert OutboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("rut", "message"),
    [
        ("12.345.678-9", "dígito verificador"),
        ("12.345.678-K", "dígito verificador"),
        ("12-345-abc", "formato válido"),
        ("1", "formato válido"),
    ],
)
def test_bad_rut(client, catalog, request_url, rut, message):
    response = client.post(request_url, request_payload(catalog, rut=rut, attachments=[png_file()]))
    _assert_rejected(response, "rut", message, kept={
        "rut": rut, "full_name": "Juana Soto Pérez", "subject": "La colación no llegó",
        "detail": "El lunes 3 no llegó la colación a la escuela.",
    })
    assert "vuelva a seleccionarlos" in _text(response)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("full_name", "Escriba su nombre completo."),
        ("email", "Escriba su correo electrónico."),
        ("requester_type", "Elija el tipo de usuario."),
        ("region", "Elija la región."),
        ("comuna", "Elija la comuna."),
        ("ticket_type", "Elija el motivo de su solicitud."),
        ("topic", "Elija el tema."),
        ("urgency", "Elija la urgencia."),
        ("subject", "Escriba un asunto."),
        ("detail", "Describa su solicitud."),
    ],
)
def test_each_missing_required_field(client, catalog, request_url, field, message):
    response = client.post(request_url, request_payload(catalog, **{field: None}))
    kept_field = "detail" if field == "subject" else "subject"
    _assert_rejected(response, field, message,
                     kept={kept_field: request_payload(catalog)[kept_field]})


@pytest.mark.parametrize("field", ["full_name", "subject", "detail"])
def test_blank_text_is_missing(client, catalog, request_url, field):
    response = client.post(request_url, request_payload(catalog, **{field: "   "}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Ticket.objects.count() == 0


def test_invalid_email_and_phone_and_long_subject(client, catalog, request_url):
    response = client.post(request_url, request_payload(
        catalog, email="no-es-correo", phone="12", subject="x" * 201,
    ))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Escriba un correo válido" in errors["email"][0]
    assert "teléfono válido" in errors["phone"][0]
    assert "200 caracteres" in errors["subject"][0]
    assert response.context["form"]["subject"].value() == "x" * 201
    assert Ticket.objects.count() == 0


def test_comuna_outside_the_region(client, catalog, request_url):
    valparaiso = Comuna.objects.get(code="05101")
    response = client.post(request_url, request_payload(
        catalog, region="13", comuna=valparaiso.code, organization="",
    ))
    _assert_rejected(response, "comuna", "no pertenece a la región",
                     kept={"region": "13", "comuna": "05101"})


def test_unknown_comuna(client, catalog, request_url):
    response = client.post(request_url, request_payload(catalog, comuna="99999"))
    _assert_rejected(response, "comuna", "Elija una comuna de la lista.")


@pytest.mark.parametrize("which", ["nonexistent", "other_institution", "inactive"])
def test_unknown_organization(client, catalog, request_url, which):
    if which == "nonexistent":
        value = "999999"
    elif which == "other_institution":
        value = str(OrganizationFactory().pk)
    else:
        value = str(OrganizationFactory(institution=catalog["institution"], is_active=False).pk)
    response = client.post(request_url, request_payload(catalog, organization=value))
    _assert_rejected(response, "organization", "Establecimiento desconocido",
                     kept={"organization": value, "full_name": "Juana Soto Pérez"})


def test_organization_in_another_comuna(client, catalog, request_url):
    response = client.post(request_url, request_payload(catalog, comuna="13102"))
    _assert_rejected(response, "organization", "no está en la comuna seleccionada")


def test_ticket_type_and_topic_of_another_institution(client, catalog, request_url):
    from tests.factories import make_catalog

    other = make_catalog()
    response = client.post(request_url, request_payload(
        catalog, ticket_type=str(other["complaint"].pk), topic=str(other["topic"].pk),
        requester_type=str(other["requester_type"].pk),
    ))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"ticket_type", "topic", "requester_type"} <= set(errors)
    assert Ticket.objects.count() == 0


def test_file_too_big(client, catalog, request_url, settings):
    settings.ATTACHMENT_MAX_BYTES = 50
    data = request_payload(catalog, attachments=[png_file("grande.png")])
    response = client.post(request_url, data)
    _assert_rejected(response, "attachments", "el máximo por archivo",
                     kept={"full_name": "Juana Soto Pérez"})


def test_executable_renamed_jpg(client, catalog, request_url):
    upload = SimpleUploadedFile("foto.jpg", EXECUTABLE, content_type="image/jpeg")
    response = client.post(request_url, request_payload(catalog, attachments=[upload]))
    _assert_rejected(response, "attachments", "no es una imagen")


def test_png_renamed_pdf(client, catalog, request_url):
    upload = SimpleUploadedFile("documento.pdf", png_bytes(), content_type="application/pdf")
    response = client.post(request_url, request_payload(catalog, attachments=[upload]))
    _assert_rejected(response, "attachments", "no corresponde a su extensión")


def test_fake_pdf_without_end_marker(client, catalog, request_url):
    upload = SimpleUploadedFile("doc.pdf", MINIMAL_PDF.replace(b"%%EOF", b""))
    response = client.post(request_url, request_payload(catalog, attachments=[upload]))
    _assert_rejected(response, "attachments", "ni un PDF válido")


def test_six_files(client, catalog, request_url):
    files = [png_file(f"foto{i}.png") for i in range(6)]
    response = client.post(request_url, request_payload(catalog, attachments=files))
    _assert_rejected(response, "attachments", "hasta 5 archivos")


def test_one_bad_file_among_good_ones_stores_nothing(client, catalog, request_url):
    files = [png_file(), SimpleUploadedFile("virus.jpg", EXECUTABLE), pdf_file()]
    response = client.post(request_url, request_payload(catalog, attachments=files))
    _assert_rejected(response, "attachments", "virus.jpg")


def test_tampered_idempotency_token_is_not_an_error(client, catalog, request_url):
    response = client.post(request_url, request_payload(catalog, idempotency_key="<script>"))
    assert response.status_code == 302
    assert Ticket.objects.get().idempotency_key is None


def test_error_page_keeps_the_same_token(client, catalog, request_url):
    data = request_payload(catalog, subject="")
    response = client.post(request_url, data)
    assert response.context["form"]["idempotency_key"].value() == data["idempotency_key"]
