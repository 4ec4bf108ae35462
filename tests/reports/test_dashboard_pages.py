"""The dashboard page and the table exports: who sees them, what they show (aggregates of the
active institution only: never a person's data or a survey comment), the filters."""

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AreaFactory, UserFactory, channel, make_catalog, open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.reports.figures import FIGURES
from ventanilla.reports.services import rollup_rebuild
from ventanilla.surveys.models import SurveyInvitation
from ventanilla.surveys.services import survey_answer

PERSON_NAME = "Rigoberta Quispe Dashboard"
PERSON_EMAIL = "rigoberta.unica@example.cl"
PERSON_RUT = "12.345.678-5"
PERSON_PHONE = "+56 9 8765 4321"
SECRET_COMMENT = "Comentario confidencial de la persona"
OTHER_TOPIC = "Tema de otra institución XYZ"
URL = "/consola/tableros/"


@pytest.fixture
def period():
    today = timezone.localdate()
    return {"desde": (today - timedelta(days=30)).isoformat(), "hasta": today.isoformat()}


@pytest.fixture
def data(catalog):
    """Three tickets of one known person (two on the web, one by phone) received days ago,
    one of them closed and rated with a comment; and another institution's ticket."""
    institution = catalog["institution"]
    make_survey(institution, comment_enabled=True)
    contact = ContactData(full_name=PERSON_NAME, email=PERSON_EMAIL, phone=PERSON_PHONE,
                          rut=PERSON_RUT)
    now = timezone.now()
    first = open_ticket(catalog, contact=contact, received_at=now - timedelta(days=5),
                        subject="Asunto privado de la persona")
    open_ticket(catalog, contact=contact, received_at=now - timedelta(days=4))
    open_ticket(catalog, contact=contact, channel=channel("phone"),
                received_at=now - timedelta(days=3))
    close_with_final_answer(first)
    invitation = SurveyInvitation.objects.get(ticket=first)
    survey_answer(invitation=invitation, score=2, comment=SECRET_COMMENT)

    other = make_catalog()
    other["topic"].name = OTHER_TOPIC
    other["topic"].save()
    open_ticket(other, received_at=now - timedelta(days=2))
    rollup_rebuild()
    return {"catalog": catalog, "other": other}


def _get(client, user, path=URL, **params):
    client.force_login(user)
    return client.get(path, params)


# --- who may see -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.SYSADMIN, Role.AUDITOR])
def test_dashboard_roles_see_every_section(client, data, period, role):
    user = staff(data["catalog"]["institution"], role)
    response = _get(client, user, **period)
    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Volumen", "Productos más pedidos por canal",
                  "Mezcla de canales y autoatención", "Cumplimiento de plazos",
                  "Pendientes y antigüedad", "Satisfacción"):
        assert f">{title}</h2>" in html
    # Every figure is on the page with its export links carrying the filters.
    for figure in FIGURES:
        assert f'id="{figure.key}"' in html
        assert (f'href="/consola/tableros/exportar/{figure.key}.csv?desde={period["desde"]}'
                f'&amp;hasta={period["hasta"]}"') in html
        assert f'/consola/tableros/exportar/{figure.key}.xlsx?' in html


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.OPERATOR, Role.TRIAGE])
def test_other_roles_get_a_spanish_403(client, data, period, role):
    user = staff(data["catalog"]["institution"], role)
    response = _get(client, user, **period)
    assert response.status_code == 403
    assert "Su rol no permite ver los tableros" in response.content.decode()
    export = _get(client, user, reverse("console:dashboards-export",
                                        args=["volumen-canal", "csv"]), **period)
    assert export.status_code == 403
    assert _get(client, user, reverse("console:dashboards-reports")).status_code == 403


def test_anonymous_is_sent_to_login_and_a_citizen_is_refused(client, data):
    response = client.get(URL)
    assert response.status_code == 302 and "/cuenta/ingresar/" in response["Location"]
    citizen = UserFactory()
    assert _get(client, citizen).status_code == 403


def test_a_member_of_another_institution_sees_only_theirs(client, data, period):
    """The other institution's supervisor sees their one ticket, never ours."""
    user = staff(data["other"]["institution"], Role.SUPERVISOR)
    html = _get(client, user, **period).content.decode()
    assert OTHER_TOPIC in html
    assert data["catalog"]["topic"].name not in html


# --- aggregates only -------------------------------------------------------------------------

def test_auditor_page_has_no_personal_data_no_comments_no_links_to_tickets(client, data,
                                                                            period):
    user = staff(data["catalog"]["institution"], Role.AUDITOR)
    html = _get(client, user, **period).content.decode()
    assert "Vista de auditoría" in html
    digits = re.sub(r"\D", "", PERSON_RUT)
    for secret in (PERSON_NAME, "Rigoberta", PERSON_EMAIL, PERSON_RUT, digits[:8],
                   PERSON_PHONE, "87654321", SECRET_COMMENT, "Asunto privado"):
        assert secret not in html, secret
    assert "/consola/r/" not in html  # no ticket links
    assert OTHER_TOPIC not in html  # another institution's data
    # The figures are there: our topic and the satisfaction of the one response.
    assert data["catalog"]["topic"].name in html
    assert "Satisfacción" in html


def test_exports_of_every_figure_have_no_personal_data(client, data, period):
    user = staff(data["catalog"]["institution"], Role.AUDITOR)
    client.force_login(user)
    for figure in FIGURES:
        for fmt in ("csv", "xlsx"):
            response = client.get(reverse("console:dashboards-export", args=[figure.key, fmt]),
                                  period)
            assert response.status_code == 200, (figure.key, fmt)
            if fmt == "csv":
                text = response.content.decode("utf-8-sig")
            else:
                book = openpyxl.load_workbook(io.BytesIO(response.content))
                text = " ".join(str(cell.value) for sheet in book for row in sheet.iter_rows()
                                for cell in row if cell.value is not None)
            for secret in (PERSON_NAME, PERSON_EMAIL, PERSON_RUT, SECRET_COMMENT, OTHER_TOPIC):
                assert secret not in text, (figure.key, fmt, secret)


# --- page structure ---------------------------------------------------------------------------

def test_each_figure_has_heading_accessible_chart_table_and_note(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    html = _get(client, user, **period).content.decode()
    article = html.split('id="volumen-canal"', 1)[1].split("</article>", 1)[0]
    assert '<h3 id="volumen-canal-titulo">Requerimientos por canal</h3>' in article
    assert 'role="img"' in article and "<title" in article and "<desc" in article
    assert "<caption>Requerimientos por canal" in article
    assert '<th scope="col"' in article and '<th scope="row">' in article
    assert 'class="hint figure-note"' in article
    # Both channels with their counts: Web 2, Teléfono 1.
    rows = re.findall(r'<th scope="row">\s*(.*?)\s*</th>\s*<td class="num">(\d+)</td>', article)
    assert rows == [(channel("web").name, "2"), (channel("phone").name, "1")]
    assert "<script" not in article and "style=" not in article  # CSP: no inline code


def test_defaults_to_the_last_twelve_months_and_offers_quick_periods(client, data):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    html = _get(client, user).content.decode()
    today = timezone.localdate()
    assert f'value="{today.isoformat()}"' in html  # "hasta" defaults to today
    for label in ("Últimos 30 días", "Este año", "Año anterior"):
        assert label in html
    this_year = f"?desde={today.year}-01-01&amp;hasta={today.isoformat()}"
    assert this_year in html
    assert 'id="volumen-canal"' in html  # figures for the default period


# --- filters --------------------------------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"desde": "2026-05-10", "hasta": "2026-05-01"},
     "La fecha final no puede ser anterior a la inicial."),
    ({"desde": "2026-13-45"}, "Escriba una fecha válida"),
    ({"desde": "2020-01-01", "hasta": "2026-01-01"}, "Elija un período de hasta tres años."),
    ({"desde": "1999-12-31"}, "Elija una fecha desde el año 2000."),
    ({"region": "99"}, "Elija una opción de la lista."),
    ({"canal": "abc"}, "Elija una opción de la lista."),
])
def test_bad_filters_show_spanish_errors_and_no_figures(client, data, params, message):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    response = _get(client, user, **params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'class="error-summary"' in html
    assert 'id="volumen-canal"' not in html
    export = client.get(reverse("console:dashboards-export", args=["volumen-canal", "csv"]),
                        params)
    assert export.status_code == 400
    assert message in export.content.decode()


def test_an_area_of_another_institution_is_not_a_valid_filter(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    foreign = data["other"]["area"]
    html = _get(client, user, area=foreign.pk, **period).content.decode()
    assert "Elija una opción de la lista." in html
    own = _get(client, user, area=data["catalog"]["area"].pk, **period)
    assert 'id="volumen-canal"' in own.content.decode()
    area_select = own.content.decode().split('name="area"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{data["catalog"]["area"].pk}"' in area_select
    assert f'<option value="{foreign.pk}"' not in area_select


def test_channel_and_area_filters_narrow_the_exported_table(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    client.force_login(user)
    url = reverse("console:dashboards-export", args=["volumen-canal", "csv"])
    phone = channel("phone")
    rows = list(csv.reader(io.StringIO(
        client.get(url, {**period, "canal": phone.pk}).content.decode("utf-8-sig"))))
    assert [row[:2] for row in rows[1:]] == [[phone.name, "1"]]
    empty_area = AreaFactory(institution=data["catalog"]["institution"])
    rows = list(csv.reader(io.StringIO(
        client.get(url, {**period, "area": empty_area.pk}).content.decode("utf-8-sig"))))
    assert rows[1:] == []


# --- exports --------------------------------------------------------------------------------

def test_csv_export_is_an_attachment_with_the_figure(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    response = _get(client, user, reverse("console:dashboards-export",
                                          args=["volumen-canal", "csv"]), **period)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="volumen-canal_{period["desde"]}_{period["hasta"]}.csv"')
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Canal", "Recibidos", "Cerrados", "% del total"]
    assert rows[1:] == [[channel("web").name, "2", "1", "66.7"],
                        [channel("phone").name, "1", "0", "33.3"]]


def test_xlsx_export_has_the_table_and_the_filters(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    phone = channel("phone")
    response = _get(client, user, reverse("console:dashboards-export",
                                          args=["volumen-canal", "xlsx"]),
                    canal=phone.pk, **period)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="volumen-canal_')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Requerimientos por canal", "Filtros"]
    sheet = book["Requerimientos por canal"]
    assert [c.value for c in sheet[2]][:3] == [phone.name, 1, 0]
    filters = {row[0].value: row[1].value for row in book["Filtros"].iter_rows(min_row=3)}
    assert filters["Institución"] == data["catalog"]["institution"].name
    assert filters["Canal"] == phone.name
    assert filters["Región"] == "Todas"


def test_unknown_export_is_404(client, data, period):
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    client.force_login(user)
    assert client.get("/consola/tableros/exportar/no-existe.csv", period).status_code == 404
    assert client.get("/consola/tableros/exportar/volumen-canal.pdf", period).status_code == 404


def test_topics_in_demand_on_several_channels_are_marked_in_words(client, data, period):
    """The topic is in the top 5 of the web and of the phone: both rows say so, with a
    marker and text, not only a background colour."""
    user = staff(data["catalog"]["institution"], Role.SUPERVISOR)
    html = _get(client, user, **period).content.decode()
    article = html.split('id="productos-por-canal"', 1)[1].split("</article>", 1)[0]
    marked = (f'<span class="marker" aria-hidden="true">★</span> '
              f'{data["catalog"]["topic"].name} '
              f'<span class="highlight-text">(pedido en varios canales)</span>')
    assert article.count(marked) == 2
    assert article.count('<tr class="highlighted">') == 2
    assert "(★ = pedido en varios canales)" in article
