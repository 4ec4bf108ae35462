"""GeoReport v2 (https://wiki.open311.org/GeoReport_v2): endpoints in JSON and XML, shaped like
the specification's examples; errors in its format; no 500 on bad input."""

from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.utils import timezone

from tests.factories import InstitutionFactory, TopicFactory, channel, make_catalog, open_ticket
from ventanilla.api.services import api_key_create, api_key_revoke
from ventanilla.tickets.models import EventKind, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
# Element names of the specification's GET requests example, in its order.
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]


def xml(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<')
    return ET.fromstring(response.content)  # noqa: S314 (our own response)


def assert_error(response, status, fmt="json"):
    assert response.status_code == status
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert body and all(set(e) == {"code", "description"} and e["code"] == status
                            for e in body)
        return [e["description"] for e in body]
    root = xml(response)
    assert root.tag == "errors"
    errors = root.findall("error")
    assert errors and all(e.findtext("code") == str(status) for e in errors)
    return [e.findtext("description") for e in errors]


# --- discovery and services ----------------------------------------------------------------

def test_discovery_json_and_xml(client, catalog):
    body = client.get(f"{BASE}/discovery.json").json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/type") == "production"


def test_services_json(client, catalog):
    child = TopicFactory(institution=catalog["institution"], name="Colaciones",
                         parent=catalog["topic"])
    body = client.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in body}
    assert set(by_code) == {str(catalog["topic"].pk), str(child.pk)}
    service = by_code[str(child.pk)]
    assert list(service) == ["service_code", "service_name", "description", "metadata", "type",
                             "keywords", "group"]
    assert service["service_name"] == "Colaciones"
    assert service["group"] == "PAE Básica-Media"
    assert service["metadata"] is False and service["type"] == "realtime"


def test_services_xml(client, catalog):
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    service = root.find("service")
    assert [c.tag for c in service] == ["service_code", "service_name", "description",
                                        "metadata", "type", "keywords", "group"]
    assert service.findtext("metadata") == "false"
    assert service.findtext("service_name") == "PAE Básica-Media"  # UTF-8 round trip
    assert service.findtext("service_code") == str(catalog["topic"].pk)


def test_inactive_topic_and_other_institution_not_listed(client, catalog):
    TopicFactory(institution=catalog["institution"], name="Vieja", is_active=False)
    body = client.get(f"{BASE}/services.json").json()
    assert [s["service_name"] for s in body] == ["PAE Básica-Media"]


def test_service_definition_json_xml_and_unknown(client, catalog):
    code = catalog["topic"].pk
    assert client.get(f"{BASE}/services/{code}.json").json() == {
        "service_code": str(code), "attributes": []}
    root = xml(client.get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == str(code)
    assert root.find("attributes") is not None and len(root.find("attributes")) == 0
    assert_error(client.get(f"{BASE}/services/999999.json"), 404)
    assert_error(client.get(f"{BASE}/services/abc.xml"), 404, "xml")


# --- jurisdiction ---------------------------------------------------------------------------

def test_jurisdiction_required_with_several_institutions(client, catalog):
    other = make_catalog()
    assert "jurisdiction_id" in assert_error(client.get(f"{BASE}/services.json"), 400)[0]
    slug = other["institution"].slug
    body = client.get(f"{BASE}/services.json", {"jurisdiction_id": slug}).json()
    assert [s["service_code"] for s in body] == [str(other["topic"].pk)]
    assert_error(client.get(f"{BASE}/services.xml", {"jurisdiction_id": "nadie"}), 404, "xml")
    # a folio identifies its institution: no jurisdiction needed
    ticket = open_ticket(other)
    assert client.get(f"{BASE}/requests/{ticket.folio}.json").status_code == 200
    # but a wrong jurisdiction hides it
    response = client.get(f"{BASE}/requests/{ticket.folio}.json",
                          {"jurisdiction_id": catalog["institution"].slug})
    assert_error(response, 404)


# --- POST requests --------------------------------------------------------------------------

def test_post_with_lat_long_json(post_request, catalog):
    response = post_request(account_id="cuenta-7", device_id="dev-1",
                            media_url="https://fotos.example.cl/bache.jpg",
                            **{"attribute[profundidad]": "20 cm"})
    assert response.status_code == 200, response.content
    [row] = response.json()
    ticket = Ticket.objects.get()
    assert row["service_request_id"] == ticket.folio
    assert row["account_id"] == "cuenta-7"
    assert ticket.folio in row["service_notice"]
    assert ticket.channel.code == "api"
    assert ticket.topic == catalog["topic"]
    assert ticket.ticket_type.workflow == "type2"
    assert ticket.subject == "Bache peligroso"
    assert "Frente al número 123." in ticket.detail and "-33.4372" in ticket.detail
    assert ticket.contact_name == "Juana Soto" and ticket.contact_email == "juana@example.cl"
    data = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED).data["open311"]
    assert data["lat"] == -33.4372 and data["long"] == -70.6506
    assert data["device_id"] == "dev-1" and data["attributes"] == {"profundidad": "20 cm"}


def test_post_with_address_string_xml(post_request):
    response = post_request("xml", lat=None, long=None,
                            address_string="Av. Libertador Bernardo O'Higgins 1449, Santiago")
    assert response.status_code == 200
    root = xml(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    ticket = Ticket.objects.get()
    assert request.findtext("service_request_id") == ticket.folio
    assert request.find("service_notice") is not None and request.find("account_id") is not None
    assert "O'Higgins 1449" in ticket.detail


def test_post_with_address_id(post_request):
    assert post_request(lat=None, long=None, address_id="CUT-13101-55").status_code == 200
    assert "CUT-13101-55" in Ticket.objects.get().detail


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_without_location_is_400(post_request, fmt):
    errors = assert_error(post_request(fmt, lat=None, long=None), 400, fmt)
    assert "ubicación" in errors[0]
    assert not Ticket.objects.exists()


def test_post_lat_without_long_is_400(post_request):
    assert_error(post_request(long=None), 400)
    assert not Ticket.objects.exists()


def test_post_without_service_code_is_400(post_request):
    assert "service_code" in assert_error(post_request(service_code=None), 400)[0]


def test_post_unknown_service_is_404(post_request):
    assert_error(post_request(service_code="424242"), 404)
    assert_error(post_request("xml", service_code="<script>"), 404, "xml")


@pytest.mark.parametrize("key", [None, "", "vk_nope_nope", "garbage"])
def test_post_bad_api_key_is_403(post_request, key):
    assert_error(post_request(api_key=key), 403)
    assert not Ticket.objects.exists()


def test_post_revoked_or_read_only_or_wrong_channel_key_is_403(post_request, catalog):
    from ventanilla.api.services import api_key_authenticate

    inst = catalog["institution"]
    _k, read_only = api_key_create(institution=inst, name="ro", channels=[channel("api")])
    _k, web_only = api_key_create(institution=inst, name="web", channels=[channel("web")],
                                  can_write=True)
    key, revoked = api_key_create(institution=inst, name="old", channels=[channel("api")],
                                  can_write=True)
    api_key_revoke(api_key=key)
    assert api_key_authenticate(revoked) is None
    for raw in (read_only, web_only, revoked):
        assert_error(post_request("xml", api_key=raw), 403, "xml")
    assert not Ticket.objects.exists()


def test_post_jurisdiction_must_match_key(post_request, catalog):
    other = make_catalog()
    assert_error(post_request(jurisdiction_id=other["institution"].slug), 403)
    assert_error(post_request(jurisdiction_id="no-existe"), 404)
    assert post_request(jurisdiction_id=catalog["institution"].slug).status_code == 200


@pytest.mark.parametrize("field,value", [
    ("lat", "noventa"), ("lat", "91"), ("long", "nan"), ("long", "inf"),
    ("email", "no-es-correo"), ("media_url", "javascript:alert(1)"),
    ("description", "x" * 10001), ("first_name", "a" * 500), ("phone", "9" * 40),
    ("description", "nul\x00byte"), ("attribute[]", "x"),
])
def test_post_garbage_is_400_not_500(post_request, field, value):
    response = post_request(**{field: value})
    assert_error(response, 400)
    assert not Ticket.objects.exists()


def test_post_anonymous_without_description(post_request, catalog):
    response = post_request(first_name=None, last_name=None, email=None, description=None)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.subject == catalog["topic"].name
    assert ticket.contact_name  # a placeholder name, the intake needs one


def test_post_idempotency_key_and_token(client, post_request):
    first = post_request(headers={"Idempotency-Key": "abc-1"}).json()[0]
    again = post_request(headers={"Idempotency-Key": "abc-1"}).json()[0]
    assert first["service_request_id"] == again["service_request_id"]
    assert Ticket.objects.count() == 1
    assert_error(post_request(headers={"Idempotency-Key": "abc-1"}, description="Otro"), 409)
    assert Ticket.objects.count() == 1
    # tokens/{token} resolves to the folio, in both formats
    body = client.get(f"{BASE}/tokens/abc-1.json").json()
    assert body == [{"service_request_id": first["service_request_id"], "token": "abc-1"}]
    root = xml(client.get(f"{BASE}/tokens/abc-1.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == first["service_request_id"]
    assert root.findtext("request/token") == "abc-1"
    assert_error(client.get(f"{BASE}/tokens/desconocido.json"), 404)


def test_generated_token_resolves(client, post_request):
    row = post_request().json()[0]
    body = client.get(f"{BASE}/tokens/{row['token']}.json").json()
    assert body[0]["service_request_id"] == row["service_request_id"]


def test_post_throttled_is_429(post_request, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_key": "2/min"}}
    assert post_request().status_code == 200
    assert post_request().status_code == 200
    response = post_request()
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0
    assert Ticket.objects.count() == 2


def test_get_throttled_per_ip(client, catalog, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "1/min"}}
    assert client.get(f"{BASE}/services.json").status_code == 200
    assert_error(client.get(f"{BASE}/services.xml"), 429, "xml")


def test_get_throttle_counts_the_person_behind_the_proxy(client, catalog, settings):
    # Behind a reverse proxy every request comes from the proxy's address: the budget is
    # the address the proxy saw, not the proxy's, and not what the client wrote itself.
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "1/min"}}
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    first = client.get(f"{BASE}/services.json", HTTP_X_FORWARDED_FOR="200.1.1.1", **proxy)
    assert first.status_code == 200
    other = client.get(f"{BASE}/services.json", HTTP_X_FORWARDED_FOR="200.2.2.2", **proxy)
    assert other.status_code == 200
    forged = client.get(f"{BASE}/services.json",
                        HTTP_X_FORWARDED_FOR="9.9.9.9, 200.1.1.1", **proxy)
    assert_error(forged, 429)


def test_post_is_csrf_exempt(catalog, write_key):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(f"{BASE}/requests.json", {
        "api_key": write_key, "service_code": catalog["topic"].pk, "address_string": "Plaza"})
    assert response.status_code == 200


# --- GET requests ---------------------------------------------------------------------------

def test_get_request_json_fields(client, catalog, post_request, write_key):
    folio = post_request(media_url="https://fotos.example.cl/b.jpg").json()[0][
        "service_request_id"]
    ticket = Ticket.objects.get(folio=folio)
    [row] = client.get(f"{BASE}/requests/{folio}.json", {"api_key": write_key}).json()
    assert list(row) == REQUEST_FIELDS
    assert row["status"] == "open"
    assert row["service_code"] == str(catalog["topic"].pk)
    assert row["service_name"] == catalog["topic"].name
    assert row["agency_responsible"] == "Área PAE"
    assert row["description"] == "Bache peligroso"
    assert row["lat"] == -33.4372 and row["long"] == -70.6506
    assert row["media_url"] == "https://fotos.example.cl/b.jpg"
    assert row["requested_datetime"] == timezone.localtime(ticket.received_at).isoformat(
        timespec="seconds")
    assert row["requested_datetime"][-6] in "+-"  # explicit offset
    expected = ticket.next_due_at or ticket.due_at
    assert expected is not None
    assert row["expected_datetime"] == timezone.localtime(expected).isoformat(timespec="seconds")
    assert row["status_notes"] is None  # no answer yet


def test_get_request_xml_and_unknown(client, catalog):
    ticket = open_ticket(catalog)
    root = xml(client.get(f"{BASE}/requests/{ticket.folio}.xml"))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("service_request_id") == ticket.folio
    assert request.findtext("status") == "open"
    assert_error(client.get(f"{BASE}/requests/NO-2026-000001.xml"), 404, "xml")


def test_closed_ticket_and_status_notes(client, catalog, write_key):
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])  # Type 1: answered, closed
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
    [row] = client.get(f"{BASE}/requests/{ticket.folio}.json", {"api_key": write_key}).json()
    reply = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.REPLY).last()
    assert row["status"] == "closed" and row["status_notes"] == reply.body


def test_public_feed_leaves_out_the_persons_words_and_location(client, catalog, post_request):
    """Without a read key of the institution: status, service, agency and dates only."""
    folio = post_request().json()[0]["service_request_id"]
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])  # has a public answer
    other_key = api_key_create(institution=InstitutionFactory(), name="Otra",
                               can_read=True)[1]
    jurisdiction = {"jurisdiction_id": catalog["institution"].slug}
    for params in (jurisdiction, {**jurisdiction, "api_key": other_key},
                   {**jurisdiction, "api_key": "vk_nope_nope"}):
        rows = client.get(f"{BASE}/requests.json", params).json()
        by_id = {row["service_request_id"]: row for row in rows}
        assert {folio, ticket.folio} <= set(by_id)
        for row in by_id.values():
            assert row["description"] is None and row["status_notes"] is None
            assert row["lat"] is None and row["long"] is None and row["address"] is None
            assert row["status"] in ("open", "closed") and row["requested_datetime"]
        updates = client.get(f"{BASE}/servicerequestupdates.json", params).json()
        assert all("Estimada/o" not in u["description"] for u in updates)


def test_get_requests_filters(client, catalog):
    now = timezone.now()
    old = open_ticket(catalog, received_at=now - timedelta(days=120))
    recent = open_ticket(catalog, received_at=now - timedelta(days=2))
    closed = open_ticket(catalog, ticket_type=catalog["suggestion"],
                         received_at=now - timedelta(days=1))
    other_topic = TopicFactory(institution=catalog["institution"], name="Becas")
    becas = open_ticket(catalog, topic=other_topic)

    def folios(**params):
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    # default: last 90 days
    assert folios() == {recent.folio, closed.folio, becas.folio}
    assert folios(status="closed") == {closed.folio}
    assert folios(status="open") == {recent.folio, becas.folio}
    assert folios(status="open,closed") == {recent.folio, closed.folio, becas.folio}
    assert folios(service_code=other_topic.pk) == {becas.folio}
    # ids override every other argument (the specification)
    assert folios(service_request_id=old.folio, status="closed") == {old.folio}
    assert folios(service_request_id=f"{old.folio},{becas.folio}") == {old.folio, becas.folio}
    start = (now - timedelta(days=200)).isoformat()
    end = (now - timedelta(days=100)).isoformat()
    assert folios(start_date=start, end_date=end) == {old.folio}
    assert folios(start_date=(now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  end_date=(now - timedelta(hours=36)).strftime("%Y-%m-%dT%H:%M:%S-03:00")
                  ) == {recent.folio}
    root = xml(client.get(f"{BASE}/requests.xml", {"status": "closed"}))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [closed.folio]


@pytest.mark.parametrize("params", [
    {"start_date": "ayer"}, {"end_date": "2026-13-45"}, {"status": "pending"},
    {"start_date": "2026-05-01", "end_date": "2026-04-01"}, {"service_code": "x" * 300},
    {"start_date": "2026-02-30T10:00:00Z"}, {"jurisdiction_id": "\x00"},
])
def test_get_requests_bad_filters_are_4xx(client, catalog, params):
    response = client.get(f"{BASE}/requests.json", params)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_get_requests_unknown_service_code_is_404(client, catalog):
    assert_error(client.get(f"{BASE}/requests.json", {"service_code": "999999"}), 404)


def test_requests_of_other_institutions_are_not_listed(client, catalog):
    other = make_catalog()
    mine, theirs = open_ticket(catalog), open_ticket(other)
    response = client.get(f"{BASE}/requests.json",
                          {"jurisdiction_id": catalog["institution"].slug})
    folios = [r["service_request_id"] for r in response.json()]
    assert folios == [mine.folio] and theirs.folio not in folios


def test_personal_data_is_not_published(client, catalog):
    ticket = open_ticket(catalog, email="secreta@example.cl")
    body = client.get(f"{BASE}/requests/{ticket.folio}.json").content.decode()
    assert "secreta@example.cl" not in body and "Juana Soto" not in body
    assert "El lunes no llegó" not in body  # the detail stays private; the subject is shown


def test_unsupported_format_and_method(client, catalog):
    assert client.get(f"{BASE}/services.html").status_code == 404
    assert client.delete(f"{BASE}/requests.json").status_code == 405
    assert client.post(f"{BASE}/services.json").status_code == 405


# --- servicerequestupdates -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_request_updates(client, catalog, fmt):
    now = timezone.now()
    open_ticket(catalog, received_at=now - timedelta(days=10))
    closed = open_ticket(catalog, ticket_type=catalog["suggestion"],
                         received_at=now - timedelta(hours=2))
    response = client.get(f"{BASE}/servicerequestupdates.{fmt}",
                          {"start_date": (now - timedelta(days=1)).isoformat()})
    assert response.status_code == 200
    if fmt == "json":
        rows = response.json()
    else:
        root = xml(response)
        assert root.tag == "service_requests_updates"
        rows = [{c.tag: c.text for c in r} for r in root.findall("request_update")]
        assert rows and all(list(r) == ["update_id", "service_request_id", "status",
                                        "updated_datetime", "description", "media_url"]
                            for r in rows)
    assert {r["service_request_id"] for r in rows} == {closed.folio}
    public = TicketEvent.objects.filter(ticket=closed, is_public=True).exclude(
        kind=EventKind.CITIZEN_MESSAGE)
    assert {str(r["update_id"]) for r in rows} == {str(e.pk) for e in public}
    assert rows[-1]["status"] == "closed"
    assert all(r["updated_datetime"][-6] in "+-" for r in rows)


def test_service_request_updates_exclude_private_events(client, catalog):
    from tests.factories import MembershipFactory
    from ventanilla.tickets.services import ticket_add_note

    ticket = open_ticket(catalog)
    member = MembershipFactory(institution=catalog["institution"])
    ticket_add_note(ticket=ticket, actor=member.user, body="Nota interna secreta")
    body = client.get(f"{BASE}/servicerequestupdates.json").content.decode()
    assert ticket.folio in body and "Nota interna secreta" not in body


def test_service_request_updates_bad_date(client, catalog):
    assert_error(client.get(f"{BASE}/servicerequestupdates.xml", {"start_date": "nunca"}),
                 400, "xml")


def test_one_institution_needs_no_jurisdiction(client, catalog):
    InstitutionFactory(is_active=False)
    assert client.get(f"{BASE}/requests.json").status_code == 200
