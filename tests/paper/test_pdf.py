import pytest
from django.urls import reverse

from tests.factories import RequesterTypeFactory, TicketTypeFactory, TopicFactory
from tests.paper.helpers import pdf_text
from ventanilla.paper.pdf import paper_form_pdf
from ventanilla.paper.selectors import paper_form_catalog
from ventanilla.portal.forms import TicketRequestForm

pytestmark = pytest.mark.django_db


def _url(institution):
    return reverse("paper-form-pdf", args=[institution.slug])


def _get_pdf(client, institution):
    response = client.get(_url(institution))
    assert response.status_code == 200
    return response


def test_pdf_response_is_a_cacheable_inline_pdf(client, catalog):
    response = _get_pdf(client, catalog["institution"])
    content = response.content
    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    # The same catalog gives the same bytes, so a revalidation is a 304.
    again = client.get(_url(catalog["institution"]), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_pdf_shows_the_live_catalog_with_spanish_letters(client, catalog):
    institution = catalog["institution"]
    institution.name = "Junta Nacional de Auxilio Escolar y Becas — Región de Ñuble"
    institution.save()
    TopicFactory(institution=institution, name="Alimentación en jardín: niñas y niños",
                 parent=catalog["topic"])
    TicketTypeFactory(institution=institution, name="Solicitud de información",
                      code="ley-20285", description="Ley 20.285 de acceso a la información")
    TicketTypeFactory(institution=institution, name="Tipo retirado", code="retirado",
                      is_active=False)
    RequesterTypeFactory(institution=institution, name="Estudiante")

    text = pdf_text(_get_pdf(client, institution).content)

    assert "Junta Nacional de Auxilio Escolar y Becas — Región de Ñuble" in text
    assert "Folio (uso interno)" in text
    for name in ("Reclamo", "Sugerencia", "Solicitud de información", "PAE Básica-Media",
                 "Alimentación en jardín: niñas y niños", "Apoderado", "Estudiante",
                 "Baja", "Media", "Alta"):
        assert name in text, name
    assert "Ley 20.285 de acceso a la información" in text
    assert "Tipo retirado" not in text
    assert "Usaremos sus datos solo para responder esta solicitud." in text
    assert "Dónde entregarlo" in text and "oirs@example.cl" in text
    assert "Página 1 de " in text


def test_pdf_asks_every_question_of_the_web_form(catalog):
    """Homologated: each field of the web form (but the file upload) is on the paper."""
    text = pdf_text(paper_form_pdf(paper_form_catalog(institution=catalog["institution"])))
    form = TicketRequestForm(institution=catalog["institution"])
    asked = [name for name in form.fields if name not in ("attachments", "idempotency_key")]
    assert "ticket_type" in asked and "requester_type" in asked
    for name in asked:
        assert str(form.fields[name].label) in text, name


def test_pdf_follows_catalog_changes(client, catalog):
    institution = catalog["institution"]
    before = _get_pdf(client, institution)
    TopicFactory(institution=institution, name="Tema nuevo de becas")
    after = _get_pdf(client, institution)
    assert after["ETag"] != before["ETag"]
    assert "Tema nuevo de becas" in pdf_text(after.content)
    assert "Tema nuevo de becas" not in pdf_text(before.content)


def test_pdf_uses_winansi_helvetica(catalog):
    content = paper_form_pdf(paper_form_catalog(institution=catalog["institution"]))
    assert b"/Encoding /WinAnsiEncoding" in content
    assert b"/BaseFont /Helvetica" in content


def test_long_catalog_breaks_pages_and_numbers_them(client, catalog):
    institution = catalog["institution"]
    for number in range(60):
        TopicFactory(institution=institution, name=f"Producto número {number:02d}",
                     parent=catalog["topic"])
    text = pdf_text(_get_pdf(client, institution).content)
    assert "Producto número 59" in text
    pages = text.count("Folio (uso interno)")
    assert pages >= 3
    assert f"Página {pages} de {pages}" in text


def test_unknown_or_inactive_institution_is_a_spanish_404(client, catalog):
    response = client.get(reverse("paper-form-pdf", args=["no-existe"]))
    assert response.status_code == 404
    assert "No encontramos ese formulario" in response.content.decode()
    institution = catalog["institution"]
    institution.is_active = False
    institution.save()
    assert client.get(_url(institution)).status_code == 404


def test_web_form_page_links_to_the_printable_form(client, catalog):
    institution = catalog["institution"]
    page = client.get(reverse("portal:request-new", args=[institution.slug]))
    assert _url(institution) in page.content.decode()
