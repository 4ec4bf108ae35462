"""Operator drafts: saved while typing (JSON endpoint), restored on the form, discarded,
private to their author, bounded in size."""

import json

import pytest
from django.urls import reverse

from tests.factories import open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.console.models import DRAFT_MAX_BYTES, DraftKind, OperatorDraft
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db

DRAFT_URL = reverse("console:operator-draft")


@pytest.fixture
def person(catalog):
    """Someone the institution knows (a ticket here)."""
    return open_ticket(catalog, contact=ContactData(full_name="Marta Fuentes",
                                                    email="marta@example.cl")).citizen


def _save(client, payload, **extra):
    return client.post(DRAFT_URL, data=json.dumps(payload), content_type="application/json",
                       **extra)


def _new_url(person):
    return reverse("console:operator-ticket-new", args=[person.pk])


def test_draft_save_restore_and_discard(staff, login, person, catalog):
    user = staff(Role.OPERATOR)
    client = login(user)
    response = _save(client, {"kind": "ticket_new", "citizen": person.pk, "fields": {
        "subject": "Beca no pagada", "detail": "Lleva dos meses sin pago.",
        "channel": "in_person", "is_staff": "true", "password": "x"}})
    assert response.status_code == 200
    body = response.json()
    assert body["saved"] is True and len(body["saved_at_label"]) == 5
    draft = OperatorDraft.objects.get(user=user)
    # Only the form's own field names are kept.
    assert draft.data == {"subject": "Beca no pagada", "detail": "Lleva dos meses sin pago.",
                          "channel": "in_person"}
    assert draft.citizen == person and draft.institution == catalog["institution"]

    # A second save replaces the first (one draft per form and person).
    _save(client, {"kind": "ticket_new", "citizen": person.pk,
                   "fields": {"subject": "Beca impaga", "detail": "Dos meses."}})
    assert OperatorDraft.objects.count() == 1
    assert OperatorDraft.objects.get().data["subject"] == "Beca impaga"

    page = client.get(_new_url(person))
    form = page.context["form"]
    assert form["subject"].value() == "Beca impaga"
    assert form["full_name"].value() == "Marta Fuentes"  # the rest still from the person
    content = page.content.decode()
    assert "Se recuperó un borrador guardado a las" in content
    assert "Descartar borrador" in content
    assert 'data-draft-saved-at="0"' not in content

    response = client.post(reverse("console:operator-draft-discard"),
                           {"kind": "ticket_new", "citizen": str(person.pk),
                            "next": _new_url(person)})
    assert response.status_code == 302 and response["Location"] == _new_url(person)
    assert not OperatorDraft.objects.exists()
    page = client.get(_new_url(person))
    assert page.context["form"]["subject"].value() in (None, "")
    assert page.context["draft"] is None


def test_discard_refuses_an_outside_next(operator_client, person):
    response = operator_client.post(reverse("console:operator-draft-discard"),
                                    {"kind": "attended", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:operator")


@pytest.fixture
def operator_client(staff, login):
    return login(staff(Role.OPERATOR))


def test_drafts_of_another_user_are_not_visible(staff, login, person, catalog):
    author, colleague = staff(Role.OPERATOR), staff(Role.OPERATOR)
    _save(login(author), {"kind": "attended", "citizen": person.pk,
                          "fields": {"summary": "Dato privado del autor"}})
    client = login(colleague)
    page = client.get(reverse("console:operator-attended", args=[person.pk]))
    assert "Dato privado del autor" not in page.content.decode()
    assert page.context["draft"] is None
    # Discarding as the colleague does not touch the author's draft.
    client.post(reverse("console:operator-draft-discard"),
                {"kind": "attended", "citizen": str(person.pk)})
    assert OperatorDraft.objects.filter(user=author).count() == 1


def test_drafts_are_per_institution(staff, login, person, catalog, other_catalog):
    user = staff(Role.OPERATOR)
    staff(Role.OPERATOR, institution=other_catalog["institution"], user=user)
    client = login(user)
    client.post(reverse("console:switch-institution"),
                {"institution": str(catalog["institution"].pk)})
    _save(client, {"kind": "attended", "citizen": None, "fields": {"summary": "Aquí"}})
    client.post(reverse("console:switch-institution"),
                {"institution": str(other_catalog["institution"].pk)})
    page = client.get(reverse("console:operator-attended-unknown"))
    assert page.context["draft"] is None
    assert OperatorDraft.objects.get().institution == catalog["institution"]


def test_oversized_draft_is_refused(operator_client, person):
    response = _save(operator_client, {"kind": "ticket_new", "citizen": person.pk,
                                       "fields": {"detail": "x" * (DRAFT_MAX_BYTES + 10)}})
    assert response.status_code == 413
    assert response.json()["saved"] is False
    # Just under the byte limit but with many fields: the stored data is bounded too.
    fields = {name: "y" * 7000 for name in ("subject", "detail", "full_name", "email",
                                             "phone", "rut", "region", "comuna", "topic",
                                             "organization")}
    response = _save(operator_client, {"kind": "ticket_new", "citizen": person.pk,
                                       "fields": fields})
    assert response.status_code == 413
    assert not OperatorDraft.objects.exists()


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe",
                                 json.dumps({"kind": "other", "fields": {}}).encode(),
                                 json.dumps({"kind": "attended", "citizen": "abc",
                                             "fields": {}}).encode(),
                                 json.dumps({"kind": "attended",
                                             "fields": {"summary": ["a"]}}).encode(),
                                 json.dumps({"kind": "attended", "fields": "x"}).encode()])
def test_malformed_draft_is_a_400_json(raw, operator_client):
    response = operator_client.post(DRAFT_URL, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["saved"] is False
    assert not OperatorDraft.objects.exists()


def test_draft_for_unknown_person_is_404(operator_client):
    response = _save(operator_client, {"kind": "attended", "citizen": 999999,
                                       "fields": {"summary": "x"}})
    assert response.status_code == 404


def test_draft_endpoint_needs_csrf(staff, person):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff(Role.OPERATOR))
    response = _save(client, {"kind": "attended", "citizen": person.pk,
                              "fields": {"summary": "x"}})
    assert response.status_code == 403
    assert not OperatorDraft.objects.exists()


def test_draft_ticket_reference_is_only_kept_for_the_persons_ticket(operator_client, person,
                                                                    catalog):
    foreign = open_ticket(catalog, email="otra@example.cl")
    _save(operator_client, {"kind": "ticket_add", "citizen": person.pk,
                            "fields": {"ticket": str(foreign.pk), "body": "x"}})
    draft = OperatorDraft.objects.get()
    assert draft.ticket is None
    assert Ticket.objects.filter(pk=foreign.pk).exists()


def test_submitting_an_invalid_form_without_javascript_keeps_a_draft(staff, login, person):
    user = staff(Role.OPERATOR)
    client = login(user)
    response = client.post(reverse("console:operator-attended", args=[person.pk]),
                           {"channel": "", "summary": "Llamó por su beca", "unknown": "z"})
    assert response.status_code == 400
    draft = OperatorDraft.objects.get(user=user, kind=DraftKind.ATTENDED)
    assert draft.data == {"channel": "", "summary": "Llamó por su beca"}
    # A successful submission removes it.
    client.post(reverse("console:operator-attended", args=[person.pk]),
                {"channel": "phone", "summary": "Llamó por su beca"})
    assert not OperatorDraft.objects.exists()
