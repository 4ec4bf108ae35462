"""Role by action: every role of an institution against every console action, checked twice —
through the HTTP view and directly through the service or selector (the service refuses
with ``PermissionDenied`` even when a view forgets to check).

The expected table follows the issue's rules: operators see and annotate and see the
person's history but never answer for an area; responders act only on tickets derived to
their own area (a responder of another area is refused everything on them); triage,
supervisors and system administrators run the case; supervisors and system administrators
approve sensitive answers and merge people; auditors see aggregates only; citizens and
anonymous visitors have no console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from tests.console.helpers import png_upload
from tests.factories import (
    AreaFactory,
    MembershipFactory,
    UserFactory,
    channel,
    make_catalog,
    open_ticket,
)
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.reports.figures import FIGURES
from ventanilla.tickets.models import ResponseStage, TriageStatus
from ventanilla.tickets.uploads import check_upload

pytestmark = pytest.mark.django_db

ROLES = ("operator", "triage", "responder", "responder_other", "supervisor", "sysadmin",
         "auditor", "citizen", "anonymous")
VIEW = {"operator", "triage", "responder", "supervisor", "sysadmin"}
CASE = {"triage", "responder", "supervisor", "sysadmin"}        # answer for the area
RUN = {"triage", "supervisor", "sysadmin"}                      # derive, triage, assign, merge
APPROVE = {"supervisor", "sysadmin"}
DASHBOARDS = {"supervisor", "sysadmin", "auditor"}
ASSISTED = {"operator", "triage", "supervisor", "sysadmin"}


@dataclass
class Ctx:
    catalog: dict
    area_other: object
    users: dict

    def ticket(self, **kw):
        """A fresh ticket, confirmed into the responders' area (unless ``pending``)."""
        from ventanilla.routing.services import triage_confirm

        pending = kw.pop("pending", False)
        ticket = open_ticket(self.catalog, **kw)
        if not pending:
            triage_confirm(ticket=ticket, actor=self.users["triage"])
            ticket.refresh_from_db()
        return ticket

    def draft(self, *, sensitive=False, submit=False):
        from ventanilla.tickets.services import answer_draft, answer_submit

        topic = self.catalog["topic"]
        if sensitive and not topic.is_sensitive:
            topic.is_sensitive = True
            topic.save()
        ticket = self.ticket()
        answer = answer_draft(ticket=ticket, actor=self.users["triage"],
                              stage=ResponseStage.PLAN, body="Próximos pasos")
        if submit:
            answer = answer_submit(answer=answer, actor=self.users["triage"])
        return ticket, answer


@pytest.fixture
def ctx(db):
    catalog = make_catalog()
    institution = catalog["institution"]
    area_other = AreaFactory(institution=institution, name="Área Becas")
    users = {}
    for role in ROLES:
        if role in ("citizen", "anonymous"):
            users[role] = UserFactory() if role == "citizen" else None
            continue
        user = UserFactory()
        real = Role.RESPONDER if role.startswith("responder") else Role(role)
        areas = ([catalog["area"]] if role == "responder"
                 else [area_other] if role == "responder_other" else [])
        MembershipFactory(user=user, institution=institution, role=real, areas=areas)
        users[role] = user
    return Ctx(catalog=catalog, area_other=area_other, users=users)


# --- actions: (allowed roles, HTTP request, service call) ----------------------------------------

def _u(name, *args):
    return reverse(name, args=args)


def http_view(c, x):
    return "GET", _u("console:ticket", x.ticket().folio), None


def svc_view(user, x):
    from ventanilla.tickets.selectors import ticket_detail_for_staff

    ticket_detail_for_staff(user=user, folio=x.ticket().folio)


def svc_note(user, x):
    from ventanilla.tickets.services import ticket_add_note

    ticket_add_note(ticket=x.ticket(), actor=user, body="nota")


def svc_reply(user, x):
    from ventanilla.tickets.services import ticket_reply

    ticket_reply(ticket=x.ticket(), actor=user, body="respuesta")


def svc_status(user, x):
    from ventanilla.tickets.services import ticket_change_status

    ticket_change_status(ticket=x.ticket(), actor=user, to_status="in_progress")


def svc_area(user, x):
    from ventanilla.tickets.services import ticket_change_area

    ticket_change_area(ticket=x.ticket(), actor=user, area=x.area_other, reason="otra")


def svc_triage(user, x):
    from ventanilla.routing.services import triage_confirm

    triage_confirm(ticket=x.ticket(pending=True), actor=user)


def svc_triage_correct(user, x):
    from ventanilla.routing.services import triage_correct

    triage_correct(ticket=x.ticket(pending=True), actor=user, area=x.area_other, reason="x")


def svc_assign(user, x):
    from ventanilla.routing.services import ticket_assign

    ticket_assign(ticket=x.ticket(), actor=user, assignee=x.users["responder"])


def svc_take(user, x):
    from ventanilla.routing.services import ticket_take

    ticket_take(ticket=x.ticket(), actor=user)


def svc_link(user, x):
    from ventanilla.tickets.services import ticket_link

    ticket_link(ticket=x.ticket(), other=x.ticket(), actor=user)


def svc_merge(user, x):
    from ventanilla.tickets.services import ticket_merge

    ticket_merge(duplicate=x.ticket(), into=x.ticket(), actor=user, reason="duplicado")


def svc_split(user, x):
    from ventanilla.tickets.services import ticket_split

    ticket_split(ticket=x.ticket(), actor=user, subject="Parte", detail="Otra parte",
                 ticket_type=None, topic=None, idempotency_key=None)


def svc_draft(user, x):
    from ventanilla.tickets.services import answer_draft

    answer_draft(ticket=x.ticket(), actor=user, stage=ResponseStage.PLAN, body="Pasos")


def svc_submit(user, x):
    from ventanilla.tickets.services import answer_submit

    _ticket, answer = x.draft()
    answer_submit(answer=answer, actor=user)


def svc_review(user, x):
    from ventanilla.tickets.services import answer_review

    _ticket, answer = x.draft(sensitive=True, submit=True)
    answer_review(answer=answer, actor=user, approve=True, comment="")


def svc_send(user, x):
    from ventanilla.tickets.services import answer_send

    _ticket, answer = x.draft()
    answer_send(answer=answer, actor=user)


def svc_root_cause(user, x):
    from ventanilla.tickets.services import ticket_set_root_cause

    ticket_set_root_cause(ticket=x.ticket(), actor=user, root_cause="causa",
                          corrective_action="acción")


def _two_records(x):
    first = x.ticket(contact=ContactData(full_name="Luis Rojas", email="luis@example.cl"))
    second = x.ticket(contact=ContactData(full_name="Luis Rojas", phone="+56 9 3333 2222"))
    return first.citizen, second.citizen


def svc_citizen_merge(user, x):
    from ventanilla.citizens.services import citizen_merge

    keep, other = _two_records(x)
    citizen_merge(keep=keep, other=other, actor=user, reason="misma persona")


def svc_paper(user, x):
    from ventanilla.paper.services import paper_intake_create

    paper_intake_create(institution=x.catalog["institution"], actor=user,
                        uploads=[check_upload(png_upload())], note="")


def svc_comments(user, x):
    from ventanilla.reports.tables import DashboardFilters
    from ventanilla.surveys.selectors import survey_comments

    survey_comments(DashboardFilters(institution=x.catalog["institution"],
                                     date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)),
                    viewer=user)


def svc_report(user, x):
    from ventanilla.reports.report_services import report_request

    report_request(user=user, institution=x.catalog["institution"],
                   period_start=date(2026, 1, 1), period_end=date(2026, 1, 31), title="",
                   filters={}, recipients="")


def svc_assisted(user, x):
    from ventanilla.tickets.services import TicketDraft
    from ventanilla.tickets.services.assisted import ticket_open_assisted

    c = x.catalog
    ticket_open_assisted(actor=user, draft=TicketDraft(
        institution=c["institution"], channel=channel("phone"), ticket_type=c["complaint"],
        topic=c["topic"], subject="Llamada", detail="Detalle",
        contact=ContactData(full_name="Ana"), created_by=user))


def svc_inbox(user, x):
    from ventanilla.tickets.permissions import membership_for
    from ventanilla.tickets.selectors import InboxFilters, ticket_inbox

    membership = membership_for(user, x.catalog["institution"].pk)
    if membership is None:
        raise PermissionDenied("no membership")
    ticket_inbox(membership=membership, filters=InboxFilters())


def _post(name, data_for=lambda x, t: {}, ticket_for=lambda x: x.ticket()):
    def build(c, x):
        ticket = ticket_for(x)
        return "POST", _u(name, ticket.folio), data_for(x, ticket)
    return build


def _answer_post(name, **draft_kw):
    def build(c, x):
        ticket, answer = x.draft(**draft_kw)
        data = {f"review-{answer.pk}-decision": "approve"}
        return "POST", _u(name, ticket.folio, answer.pk), data
    return build


def http_attachment(c, x):
    ticket = x.ticket(attachments=[check_upload(png_upload())])
    return "GET", _u("console:ticket-attachment", ticket.folio, ticket.attachments.get().pk), None


def http_citizen(c, x):
    return "GET", _u("console:citizen", x.ticket().citizen_id), None


def http_citizen_merge(c, x):
    keep, other = _two_records(x)
    prefix = f"merge-{other.pk}"
    return "POST", _u("console:citizen-merge", keep.pk, other.pk), {
        f"{prefix}-keep": keep.pk, f"{prefix}-reason": "misma persona",
        f"{prefix}-confirm": "on"}


def _get(name):
    return lambda c, x: ("GET", _u(name), None)


ACTIONS: dict[str, tuple[set, Callable | None, Callable | None]] = {
    "view detail": (VIEW, http_view, svc_view),
    "add note": (VIEW, _post("console:ticket-note", lambda x, t: {"note-body": "nota"}),
                 svc_note),
    "reply": (CASE, _post("console:ticket-reply", lambda x, t: {"reply-body": "hola"}),
              svc_reply),
    "change status": (CASE, _post("console:ticket-status",
                                  lambda x, t: {"status-status": "in_progress"}), svc_status),
    "change area": (RUN, _post("console:ticket-area",
                               lambda x, t: {"area-area": x.area_other.pk}), svc_area),
    "triage confirm": (RUN, _post("console:triage-confirm",
                                  ticket_for=lambda x: x.ticket(pending=True)), svc_triage),
    "triage correct": (RUN, _post("console:triage-correct",
                                  lambda x, t: {f"c{t.pk}-area": x.area_other.pk,
                                                f"c{t.pk}-reason": "otra"},
                                  ticket_for=lambda x: x.ticket(pending=True)),
                       svc_triage_correct),
    "assign": (RUN, _post("console:ticket-assign",
                          lambda x, t: {"assign-assignee": x.users["responder"].pk}),
               svc_assign),
    "take": (CASE, _post("console:ticket-take"), svc_take),
    "link": (CASE, _post("console:ticket-link",
                         lambda x, t: {"link-folio": x.ticket().folio}), svc_link),
    "merge": (RUN, _post("console:ticket-merge",
                         lambda x, t: {"merge-folio": x.ticket().folio, "merge-reason": "dup",
                                       "merge-confirm": "on"}), svc_merge),
    "split": (RUN, _post("console:ticket-split",
                         lambda x, t: {"split-subject": "Parte", "split-detail": "Otra"}),
              svc_split),
    "answer draft": (CASE, _post("console:answer-draft-plan",
                                 lambda x, t: {"plan-body": "Pasos"}), svc_draft),
    "answer submit": (CASE, _answer_post("console:answer-submit"), svc_submit),
    "answer review": (APPROVE, _answer_post("console:answer-review", sensitive=True,
                                            submit=True), svc_review),
    # A responder sends only when their area sends its own answers (not this one).
    "answer send": (RUN, _answer_post("console:answer-send"), svc_send),
    "root cause": (CASE, _post("console:ticket-root-cause",
                               lambda x, t: {"rootcause-root_cause": "c",
                                             "rootcause-corrective_action": "a"}),
                   svc_root_cause),
    "citizen page": (VIEW, http_citizen, None),
    "citizen merge": (APPROVE, http_citizen_merge, svc_citizen_merge),
    "attachment download": (VIEW, http_attachment, None),
    "paper intake": (ASSISTED, _get("console:paper-upload"), svc_paper),
    "operator console": (ASSISTED, _get("console:operator"), svc_assisted),
    # Every case role has an inbox (a responder's holds their own areas' tickets only).
    "inbox": (VIEW | {"responder_other"}, _get("console:inbox"), svc_inbox),
    "triage queue": (RUN, _get("console:triage"), None),
    "survey results": (DASHBOARDS, _get("console:surveys-results"), None),
    "survey comments": (APPROVE, _get("console:surveys-comments"), svc_comments),
    "dashboards": (DASHBOARDS, _get("console:dashboards-home"), None),
    "dashboard export": (DASHBOARDS, lambda c, x: (
        "GET", _u("console:dashboards-export", FIGURES[0].key, "csv"), None), None),
    "reports list": (DASHBOARDS, _get("console:dashboards-reports"), None),
    "reports request": (APPROVE, lambda c, x: ("POST", _u("console:dashboards-reports"), {
        "period_start": "2026-01-01", "period_end": "2026-01-31", "title": "Informe"}),
        svc_report),
    "deadline compliance": (RUN, _get("console:sla-compliance"), None),
    "access log": (APPROVE, _get("console:access-log"), None),
}


def _client(x, role) -> Client:
    client = Client()
    if x.users[role] is not None:
        client.force_login(x.users[role])
    return client


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "/cuenta/ingresar/" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_every_action_over_http(ctx, role):
    wrong = []
    for action, (allowed, http, _service) in ACTIONS.items():
        if http is None:
            continue
        client = _client(ctx, role)
        method, url, data = http(client, ctx)
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        expected = role in allowed
        if response.status_code >= 500:
            wrong.append(f"{action}: {method} {url} → {response.status_code}")
        elif expected and _refused(response):
            wrong.append(f"{action}: refused ({response.status_code}) but the role may")
        elif not expected and not _refused(response):
            wrong.append(f"{action}: allowed ({response.status_code}) but the role may not")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_every_service_checks_the_role_itself(ctx, role):
    wrong = []
    user = ctx.users[role]
    for action, (allowed, _http, service) in ACTIONS.items():
        if service is None:
            continue
        try:
            service(user, ctx)
        except PermissionDenied:
            refused = True
        except ValidationError:
            refused = False  # past the permission check: the input was the problem
        else:
            refused = False
        if (role in allowed) == refused:
            wrong.append(f"{action}: {'refused' if refused else 'allowed'}")
    assert not wrong, f"{role} through the services:\n" + "\n".join(wrong)


def test_responder_with_an_area_that_sends_its_answers_sends_them(ctx):
    from ventanilla.tickets.services import answer_send

    area = ctx.catalog["area"]
    area.sends_answers = True
    area.save()
    _ticket, answer = ctx.draft()
    answer_send(answer=answer, actor=ctx.users["responder"])
    with pytest.raises(PermissionDenied):
        _ticket, other = ctx.draft()
        answer_send(answer=other, actor=ctx.users["responder_other"])


def test_inbox_selector_scopes_responders_to_their_areas(ctx):
    from ventanilla.tickets.permissions import membership_for
    from ventanilla.tickets.selectors import InboxFilters, ticket_inbox
    from ventanilla.tickets.services import ticket_change_area

    mine = ctx.ticket()
    theirs = ctx.ticket()
    ticket_change_area(ticket=theirs, actor=ctx.users["triage"], area=ctx.area_other)
    pending = ctx.ticket(pending=True)
    institution = ctx.catalog["institution"]

    def inbox(role):
        membership = membership_for(ctx.users[role], institution.pk)
        return set(ticket_inbox(membership=membership, filters=InboxFilters())
                   .values_list("pk", flat=True))

    assert inbox("responder") == {mine.pk}
    assert inbox("responder_other") == {theirs.pk}
    for role in ("operator", "triage", "supervisor", "sysadmin"):
        assert inbox(role) == {mine.pk, theirs.pk, pending.pk}
    with pytest.raises(PermissionDenied):
        ticket_inbox(membership=membership_for(ctx.users["auditor"], institution.pk),
                     filters=InboxFilters())
    assert pending.triage_status == TriageStatus.PENDING
