import pytest
from django.urls import reverse

from tests.console.helpers import confirmed, listed
from tests.factories import UserFactory, open_ticket
from ventanilla.accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name,args", [
    ("console:inbox", []),
    ("console:ticket", ["X-2026-000001"]),
    ("console:ticket-attachment", ["X-2026-000001", 1]),
])
def test_anonymous_is_sent_to_login(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=" in response["Location"]


def test_anonymous_post_is_sent_to_login(client, catalog):
    ticket = open_ticket(catalog)
    response = client.post(reverse("console:ticket-note", args=[ticket.folio]), {"note-body": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not ticket.events.filter(kind="note").exists()


def test_user_without_membership_gets_spanish_403(login, catalog):
    client = login(UserFactory())
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 403
    assert "Su cuenta no tiene acceso a la consola" in response.content.decode()
    ticket = open_ticket(catalog)
    assert client.get(reverse("console:ticket", args=[ticket.folio])).status_code == 403


def test_inactive_membership_gives_no_access(login, catalog):
    user = UserFactory()
    from tests.factories import MembershipFactory

    MembershipFactory(user=user, institution=catalog["institution"], role=Role.TRIAGE,
                      is_active=False)
    response = login(user).get(reverse("console:inbox"))
    assert response.status_code == 403


def test_auditor_gets_403_on_inbox_and_ticket(login, catalog, staff):
    ticket = open_ticket(catalog)
    client = login(staff(Role.AUDITOR))
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 403
    content = response.content.decode()
    assert "auditor" in content and "Juana Soto" not in content
    response = client.get(reverse("console:ticket", args=[ticket.folio]))
    assert response.status_code == 403
    assert "Juana Soto" not in response.content.decode()
    response = client.get(reverse("console:ticket-attachment", args=[ticket.folio, 1]))
    assert response.status_code == 403


def test_staff_of_other_institution_gets_404_and_never_sees_tickets(
    login, catalog, other_catalog, staff
):
    ticket = open_ticket(catalog, subject="Asunto de la institución A")
    own = open_ticket(other_catalog, subject="Asunto de la institución B")
    client = login(staff(Role.SUPERVISOR, institution=other_catalog["institution"]))
    assert client.get(reverse("console:ticket", args=[ticket.folio])).status_code == 404
    for action in ("ticket-note", "ticket-reply", "ticket-status", "ticket-area"):
        response = client.post(reverse(f"console:{action}", args=[ticket.folio]),
                               {"note-body": "hola", "reply-body": "hola"})
        assert response.status_code == 404
    assert not ticket.events.exclude(kind="created").exists()
    response = client.get(reverse("console:inbox"), {"status": "all"})
    assert listed(response) == [own.folio]
    assert "institución A" not in response.content.decode()
    # A search for A's folio finds nothing in B's inbox either.
    response = client.get(reverse("console:inbox"), {"q": ticket.folio, "status": "all"})
    assert listed(response) == []
    assert reverse("console:ticket", args=[ticket.folio]) not in response.content.decode()


def test_unknown_folio_is_404(login, catalog, staff):
    client = login(staff(Role.TRIAGE))
    response = client.get(reverse("console:ticket", args=["NOPE-2026-000001"]))
    assert response.status_code == 404
    assert "No encontramos" in response.content.decode()
    for folio in ("%00", "a" * 300, "x%27%20OR%201=1"):
        assert client.get(f"/consola/r/{folio}/").status_code == 404
    ticket = open_ticket(catalog)
    huge = reverse("console:ticket-attachment", args=[ticket.folio, 10**25])
    assert client.get(huge).status_code == 404


def test_responder_sees_only_tickets_of_their_areas(login, catalog, staff):
    from tests.factories import AreaFactory

    other_area = AreaFactory(institution=catalog["institution"], name="Área Becas")
    mine = confirmed(open_ticket(catalog, subject="Del área PAE"))
    theirs = confirmed(open_ticket(catalog, subject="Del área Becas"))
    pending = open_ticket(catalog, subject="Por validar")  # not the area's yet
    from ventanilla.tickets.services import ticket_change_area

    ticket_change_area(ticket=theirs, actor=staff(Role.TRIAGE), area=other_area)
    client = login(staff(Role.RESPONDER, areas=[catalog["area"]]))
    assert listed(client.get(reverse("console:inbox"))) == [mine.folio]
    assert listed(client.get(reverse("console:inbox"), {"q": theirs.folio})) == []
    assert client.get(reverse("console:ticket", args=[mine.folio])).status_code == 200
    assert client.get(reverse("console:ticket", args=[theirs.folio])).status_code == 404
    assert client.get(reverse("console:ticket", args=[pending.folio])).status_code == 404


def test_operator_can_note_but_not_reply_or_change_status(login, catalog, staff):
    ticket = open_ticket(catalog)
    client = login(staff(Role.OPERATOR))
    page = client.get(reverse("console:ticket", args=[ticket.folio])).content.decode()
    assert "note-body" in page
    assert "reply-body" not in page and 'name="status-status"' not in page
    response = client.post(reverse("console:ticket-reply", args=[ticket.folio]),
                           {"reply-body": "Respuesta"})
    assert response.status_code == 403
    response = client.post(reverse("console:ticket-status", args=[ticket.folio]),
                           {"status-status": "in_progress"})
    assert response.status_code == 403
    response = client.post(reverse("console:ticket-area", args=[ticket.folio]),
                           {"area-area": "none"})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.area_id == catalog["area"].pk
    assert not ticket.events.filter(kind="reply").exists()
    response = client.post(reverse("console:ticket-note", args=[ticket.folio]),
                           {"note-body": "Llamé a la persona"})
    assert response.status_code == 302
    assert ticket.events.filter(kind="note", body="Llamé a la persona").exists()


def test_responder_cannot_change_area(login, catalog, staff):
    ticket = confirmed(open_ticket(catalog))
    client = login(staff(Role.RESPONDER, areas=[catalog["area"]]))
    page = client.get(reverse("console:ticket", args=[ticket.folio])).content.decode()
    assert 'name="area-area"' not in page
    response = client.post(reverse("console:ticket-area", args=[ticket.folio]),
                           {"area-area": "none"})
    assert response.status_code == 403


@pytest.mark.parametrize("action", ["ticket-note", "ticket-reply", "ticket-status",
                                    "ticket-area", "switch-institution"])
def test_get_on_post_only_urls_is_405(login, catalog, staff, action):
    ticket = open_ticket(catalog)
    client = login(staff(Role.TRIAGE))
    args = [] if action == "switch-institution" else [ticket.folio]
    assert client.get(reverse(f"console:{action}", args=args)).status_code == 405


def test_switching_institution(login, catalog, other_catalog, staff):
    user = staff(Role.TRIAGE)
    staff(Role.SUPERVISOR, institution=other_catalog["institution"], user=user)
    first = open_ticket(catalog, subject="Ticket de A")
    second = open_ticket(other_catalog, subject="Ticket de B")
    client = login(user)
    names = sorted([catalog["institution"], other_catalog["institution"]], key=lambda i: i.name)
    response = client.get(reverse("console:inbox"))
    assert 'name="institution"' in response.content.decode()  # the selector is in the header
    default = first if names[0] == catalog["institution"] else second
    assert listed(response) == [default.folio]
    for institution, ticket, absent in ((catalog["institution"], first, second),
                                        (other_catalog["institution"], second, first)):
        response = client.post(reverse("console:switch-institution"),
                               {"institution": institution.pk})
        assert response.status_code == 302
        assert response["Location"] == reverse("console:inbox")
        assert client.session["console_institution_id"] == institution.pk
        assert listed(client.get(reverse("console:inbox"))) == [ticket.folio]
        assert absent.folio != ticket.folio


def test_switching_to_a_foreign_institution_is_refused(login, catalog, other_catalog, staff):
    user = staff(Role.TRIAGE)
    open_ticket(other_catalog)
    client = login(user)
    for value in (other_catalog["institution"].pk, "abc", ""):
        response = client.post(reverse("console:switch-institution"), {"institution": value},
                               follow=True)
        assert response.status_code == 200
        assert "No tiene un rol activo en esa institución" in response.content.decode()
    assert client.session.get("console_institution_id") is None


def test_switch_keeps_a_safe_next_url_only(login, catalog, other_catalog, staff):
    user = staff(Role.TRIAGE)
    staff(Role.TRIAGE, institution=other_catalog["institution"], user=user)
    client = login(user)
    target = reverse("console:inbox") + "?status=all"
    response = client.post(reverse("console:switch-institution"),
                           {"institution": other_catalog["institution"].pk, "next": target})
    assert response["Location"] == target
    response = client.post(reverse("console:switch-institution"),
                           {"institution": other_catalog["institution"].pk,
                            "next": "https://evil.example/"})
    assert response["Location"] == reverse("console:inbox")


def test_ticket_of_a_second_institution_opens_in_its_own_context(
    login, catalog, other_catalog, staff
):
    user = staff(Role.TRIAGE)
    staff(Role.TRIAGE, institution=other_catalog["institution"], user=user)
    ticket = open_ticket(other_catalog)
    response = login(user).get(reverse("console:ticket", args=[ticket.folio]))
    assert response.status_code == 200
    assert response.context["staff"].active.institution_id == other_catalog["institution"].pk


def test_ticket_of_a_deactivated_institution_is_404(login, catalog, other_catalog, staff):
    user = staff(Role.TRIAGE)
    staff(Role.TRIAGE, institution=other_catalog["institution"], user=user)
    ticket = open_ticket(other_catalog)
    other_catalog["institution"].is_active = False
    other_catalog["institution"].save()
    client = login(user)
    assert client.get(reverse("console:ticket", args=[ticket.folio])).status_code == 404
    assert listed(client.get(reverse("console:inbox"))) == []


def test_auditor_active_with_a_case_role_elsewhere(login, catalog, other_catalog, staff):
    user = staff(Role.AUDITOR)
    staff(Role.TRIAGE, institution=other_catalog["institution"], user=user)
    audited = open_ticket(catalog)
    client = login(user)
    client.post(reverse("console:switch-institution"), {"institution": catalog["institution"].pk})
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 403
    assert 'name="institution"' in response.content.decode()  # can switch away
    assert client.get(reverse("console:ticket", args=[audited.folio])).status_code == 404
