"""Every URL pattern of the project, each either with the requests that point it at
institution B's objects (``CASES``) or with the reason it needs no such check
(``ALLOWED``). ``test_isolation_urls.py`` fails when a pattern is in neither, so a new
route cannot slip through unchecked.

A request is a ``detail`` (B's object in the URL or the body: the answer must be a refusal,
401/403/404/405, or a redirect to a page that holds nothing of B) or a ``listing`` (a page or
export of the caller's own institution, possibly with B's ids or words as filters: any
status but a 500, and none of B's bytes in it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.urls import reverse

from ventanilla.portal.access_links import tracking_link_token
from ventanilla.reports.figures import FIGURES


@dataclass(frozen=True)
class Req:
    method: str
    url: str
    data: dict | str | None = None
    listing: bool = False
    echo: tuple[str, ...] = ()   # B's values the request itself sends (echoed in a form)
    content_type: str | None = None
    open311: bool = False        # the API-key actor passes its key as ``api_key``
    personal_only: bool = False  # public feed: only B's personal data must stay out
    extra: dict = field(default_factory=dict)


def get(url, **kw):
    return Req("GET", url, **kw)


def post(url, data=None, **kw):
    return Req("POST", url, data or {}, **kw)


def listing(url, **kw):
    return Req("GET", url, listing=True, **kw)


def r(name, *args):
    return reverse(name, args=args)


def _console_ticket(w):
    b = w.b
    reqs = []
    for ticket in (b.ticket, b.pending, b.closed, b.shared_ticket):
        reqs.append(get(r("console:ticket", ticket.folio), echo=(ticket.folio,)))
    return reqs


def _folio_posts(name, data_for):
    def build(w):
        b = w.b
        return [post(r(name, t.folio), data_for(w), echo=(t.folio,))
                for t in (b.ticket, b.pending, b.shared_ticket)]
    return build


def _inbox(w):
    b = w.b
    base = r("console:inbox")
    return [
        listing(base + "?status=all"),
        listing(base + f"?status=all&q={b.ticket.folio}", echo=(b.ticket.folio,)),
        listing(base + "?status=all&q=15.975.346-8", echo=("15.975.346-8",)),
        listing(base + "?status=all&q=Persona+ZQXB", echo=("Persona ZQXB",)),
        listing(base + f"?status=all&area={b.catalog['area'].pk}&topic={b.catalog['topic'].pk}"
                f"&ticket_type={b.catalog['complaint'].pk}"),
        listing(base + "?status=all&page=2"),
    ]


def _attachment(w):
    a, b = w.a, w.b
    return [
        get(r("console:ticket-attachment", b.ticket.folio, b.attachment.pk)),
        # A's own ticket with B's attachment id: the attachment is looked up in the ticket.
        get(r("console:ticket-attachment", a.ticket.folio, b.attachment.pk)),
    ]


def _links(w):
    a, b = w.a, w.b
    folio = b.ticket.folio
    return [
        post(r("console:ticket-link", b.ticket.folio), {"link-folio": a.ticket.folio},
             echo=(folio,)),
        # From A's ticket, naming B's folio: "no such folio in this institution".
        post(r("console:ticket-link", a.ticket.folio), {"link-folio": folio}, echo=(folio,),
             listing=True),
    ]


def _merge(w):
    a, b = w.a, w.b
    folio = b.ticket.folio
    data = {"merge-reason": "duplicado", "merge-confirm": "on"}
    return [
        post(r("console:ticket-merge", b.pending.folio),
             {"merge-folio": b.ticket.folio, **data}, echo=(b.pending.folio, folio)),
        post(r("console:ticket-merge", a.pending.folio), {"merge-folio": folio, **data},
             echo=(folio,), listing=True),
    ]


def _split(w):
    b = w.b
    return [post(r("console:ticket-split", b.ticket.folio),
                 {"split-subject": "Parte", "split-detail": "Otra parte"},
                 echo=(b.ticket.folio,))]


def _answer_posts(name):
    def build(w):
        a, b = w.a, w.b
        data = {f"review-{b.answer.pk}-decision": "approve"}
        return [
            post(r(name, b.ticket.folio, b.answer.pk), data, echo=(b.ticket.folio,)),
            # A's ticket with B's answer id: the answer is looked up in the ticket.
            post(r(name, a.ticket.folio, b.answer.pk), data),
        ]
    return build


def _citizen(w):
    _a, b = w.a, w.b
    return [
        get(r("console:citizen", b.person.pk)),
        get(r("console:citizen", b.merge.other_id)),
        # The person with tickets in both, seen from A: test_isolation_people.py.
    ]


def _citizen_merge(w):
    a, b = w.a, w.b
    data = {"keep": b.person.pk, "reason": "misma", "confirm": "on"}
    prefixed = {f"merge-{b.person.pk}-{k}": v for k, v in data.items()}
    return [
        post(r("console:citizen-merge", b.person.pk, b.merge.keep_id), prefixed),
        # From A's side of the shared person, absorbing a person known only to B.
        post(r("console:citizen-merge", a.shared_person.pk, b.person.pk), prefixed),
    ]


def _operator_person(name):
    # After a lookup by an exact RUT, e-mail or phone (``console:operator`` runs first) the
    # person may be reached; without one, ids cannot be browsed (tests/console/
    # test_operator.py). Either way nothing B was told is shown.
    def build(w):
        b = w.b
        return [listing(r(name, b.person.pk)),
                post(r(name, b.person.pk), {"summary": "x"}, listing=True),
                get(r(name, b.merge.other_id))]
    return build


def _operator_home(w):
    b = w.b
    base = r("console:operator")
    return [listing(base + "?q=" + q, echo=(q,)) for q in (
        "solitaria.zqxb@example.cl", "15.975.346-8", "977774321", "compartida.zqxb@example.cl",
    )] + [listing(base + "?q=11.111.111-1", echo=("11.111.111-1",)),
          listing(r("console:operator-person", w.a.shared_person.pk))] + [
        get(r("console:operator-person", b.merge.other_id))]


def _operator_draft(w):
    b = w.b
    body = json.dumps({"kind": "ticket_new", "citizen": b.person.pk,
                       "fields": {"subject": "x"}})
    return [Req("POST", r("console:operator-draft"), body, content_type="application/json",
                listing=True)]


def _paper(name, extra=lambda b: ()):
    def build(w):
        a, b = w.a, w.b
        reqs = [get(r(name, b.intake.pk, *extra(b)))]
        if name == "console:paper-page":
            reqs.append(get(r(name, a.intake.pk, b.page.pk)))
        if name in ("console:paper-transcribe", "console:paper-discard"):
            reqs.append(post(r(name, b.intake.pk), {"reason": "x"}))
        return reqs
    return build


def _dashboard_query(w) -> str:
    b = w.b
    return (f"?desde=2025-01-01&hasta=2026-12-31&area={b.catalog['area'].pk}"
            f"&canal={b.catalog['web'].pk}")


def _exports(w):
    reqs = []
    for figure in FIGURES:
        for fmt in ("csv", "xlsx"):
            url = r("console:dashboards-export", figure.key, fmt)
            reqs.append(listing(url + "?desde=2025-01-01&hasta=2026-12-31"))
            reqs.append(listing(url + _dashboard_query(w)))
    return reqs


def _api_folio(name, data=None):
    def build(w):
        b = w.b
        return [Req("POST" if data is not None else "GET", r(name, t.folio),
                    json.dumps(data) if data is not None else None,
                    content_type="application/json" if data is not None else None,
                    echo=(t.folio,)) for t in (b.ticket, b.pending, b.closed)]
    return build


def _api_tickets(w):
    b = w.b
    base = r("api:tickets")
    payload = {"ticket_type": b.catalog["complaint"].pk, "topic": b.catalog["topic"].pk,
               "subject": "Intento", "detail": "Intento cruzado", "full_name": "X",
               "email": "x@example.cl"}
    return [
        listing(base),
        listing(base + f"?area={b.catalog['area'].pk}&topic={b.catalog['topic'].pk}"),
        listing(base + "?institution=servicio-b"),
        Req("POST", base, json.dumps(payload), content_type="application/json", listing=True),
        Req("POST", base + "?institution=servicio-b", json.dumps(payload),
            content_type="application/json", listing=True),
    ]


def _api_area(w):
    a, b = w.a, w.b
    reqs = _api_folio("api:ticket_area", {"area": a.catalog["area"].pk})(w)
    # A's ticket to B's area: refused as "not of this institution".
    reqs.append(Req("POST", r("api:ticket_area", a.ticket.folio),
                    json.dumps({"area": b.catalog["area"].pk}),
                    content_type="application/json", listing=True))
    return reqs


def _interactions(w):
    b = w.b
    events = [{"channel": "api", "occurred_at": "2026-03-02T10:15:00-03:00",
               "kind": "tracking", "folio": b.ticket.folio}]
    return [Req("POST", r("api:interactions"), json.dumps(events),
                content_type="application/json", listing=True, echo=(b.ticket.folio,),
                extra={"HTTP_IDEMPOTENCY_KEY": "iso-1"})]


def _open311(w):
    b = w.b
    # The public feed publishes status, service and agency of every request by design;
    # the person's words and data go only to a read key of the same institution.
    return [
        listing("/open311/v2/requests.json?jurisdiction_id=servicio-b", open311=True,
                personal_only=True),
        listing("/open311/v2/requests.xml?jurisdiction_id=servicio-b", open311=True,
                personal_only=True),
        listing(f"/open311/v2/requests.json?jurisdiction_id=servicio-b"
                f"&service_request_id={b.ticket.folio}", open311=True, personal_only=True),
    ]


def _open311_detail(w):
    b = w.b
    return [listing(f"/open311/v2/requests/{b.ticket.folio}.json", open311=True,
                    personal_only=True),
            listing(f"/open311/v2/requests/{b.ticket.folio}.xml?jurisdiction_id=servicio-b",
                    open311=True, personal_only=True)]


def _open311_token(w):
    b = w.b
    return [listing(f"/open311/v2/tokens/{b.open311_token}.json", open311=True,
                    personal_only=True)]


def _open311_updates(w):
    return [listing("/open311/v2/servicerequestupdates.json?jurisdiction_id=servicio-b",
                    open311=True, personal_only=True)]


def _track_link(w):
    b = w.b
    token = tracking_link_token(b.ticket)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    return [get(r("portal:track-link", forged))]


CASES = {
    # --- console: tickets
    "console:inbox": _inbox,
    "console:switch-institution": lambda w: [
        post(r("console:switch-institution"), {"institution": w.b.institution.pk,
                                               "next": r("console:ticket", w.b.ticket.folio)},
             listing=True)],
    "console:ticket": _console_ticket,
    "console:ticket-note": _folio_posts("console:ticket-note", lambda w: {"note-body": "x"}),
    "console:ticket-reply": _folio_posts("console:ticket-reply", lambda w: {"reply-body": "x"}),
    "console:ticket-status": _folio_posts("console:ticket-status",
                                          lambda w: {"status-status": "in_progress"}),
    "console:ticket-area": _folio_posts("console:ticket-area",
                                        lambda w: {"area-area": w.a.catalog["area"].pk}),
    "console:ticket-attachment": _attachment,
    "console:sla-compliance": lambda w: [
        listing(r("console:sla-compliance")),
        listing(r("console:sla-compliance") + "?start=2025-01-01&end=2026-12-31&group_by=area"),
        listing(r("console:sla-compliance") + "?start=2025-01-01&end=2026-12-31&group_by=topic"),
    ],
    "console:triage": lambda w: [listing(r("console:triage"))],
    "console:triage-bulk": lambda w: [post(r("console:triage-bulk"),
                                           {"ticket": [w.b.pending.pk]}, listing=True)],
    "console:triage-confirm": _folio_posts("console:triage-confirm", lambda w: {}),
    "console:triage-correct": _folio_posts(
        "console:triage-correct",
        lambda w: {f"c{w.b.pending.pk}-area": w.a.catalog["area"].pk,
                   f"c{w.b.pending.pk}-reason": "x"}),
    "console:ticket-take": _folio_posts("console:ticket-take", lambda w: {}),
    "console:ticket-assign": _folio_posts(
        "console:ticket-assign", lambda w: {"assign-assignee": w.b.staff["responder"].pk}),
    "console:ticket-links": lambda w: [get(r("console:ticket-links", w.b.ticket.folio))],
    "console:ticket-link": _links,
    "console:ticket-merge": _merge,
    "console:ticket-split": _split,
    "console:answers": lambda w: [get(r("console:answers", w.b.ticket.folio))],
    "console:answer-draft-plan": _folio_posts("console:answer-draft-plan",
                                              lambda w: {"plan-body": "x"}),
    "console:answer-draft-final": _folio_posts("console:answer-draft-final",
                                               lambda w: {"final-body": "x"}),
    "console:answer-submit": _answer_posts("console:answer-submit"),
    "console:answer-review": _answer_posts("console:answer-review"),
    "console:answer-send": _answer_posts("console:answer-send"),
    "console:ticket-root-cause": _folio_posts(
        "console:ticket-root-cause",
        lambda w: {"rootcause-root_cause": "x", "rootcause-corrective_action": "y"}),
    # --- console: people
    "console:citizen": _citizen,
    "console:citizen-merge": _citizen_merge,
    "console:citizen-merge-undo": lambda w: [
        post(r("console:citizen-merge-undo", w.b.merge.keep_id, w.b.merge.pk)),
        post(r("console:citizen-merge-undo", w.a.shared_person.pk, w.b.merge.pk))],
    # --- console: operator
    "console:operator": _operator_home,
    "console:operator-person": _operator_person("console:operator-person"),
    "console:operator-ticket-new": _operator_person("console:operator-ticket-new"),
    "console:operator-ticket-add": _operator_person("console:operator-ticket-add"),
    "console:operator-attended": _operator_person("console:operator-attended"),
    "console:operator-ticket-new-unknown": lambda w: [
        listing(r("console:operator-ticket-new-unknown") + "?q=15.975.346-8",
                echo=("15.975.346-8",)),
        post(r("console:operator-ticket-new-unknown"), {
            "channel": "phone", "ticket_type": w.b.catalog["complaint"].pk,
            "topic": w.b.catalog["topic"].pk, "subject": "x", "detail": "y",
            "full_name": "Z"}, listing=True)],
    "console:operator-attended-unknown": lambda w: [
        listing(r("console:operator-attended-unknown")),
        post(r("console:operator-attended-unknown"),
             {"channel": "phone", "summary": "x", "ticket": w.b.ticket.pk}, listing=True)],
    "console:operator-done": lambda w: [get(r("console:operator-done", w.b.ticket.folio),
                                            echo=(w.b.ticket.folio,))],
    "console:operator-draft": _operator_draft,
    "console:operator-draft-discard": lambda w: [
        post(r("console:operator-draft-discard"), {"kind": "ticket_new",
                                                  "citizen": w.b.person.pk})],
    # --- console: paper
    "console:paper-list": lambda w: [listing(r("console:paper-list"))],
    "console:paper-upload": lambda w: [listing(r("console:paper-upload"))],
    "console:paper-transcribe": _paper("console:paper-transcribe"),
    "console:paper-done": _paper("console:paper-done"),
    "console:paper-discard": _paper("console:paper-discard"),
    "console:paper-page": _paper("console:paper-page", lambda b: (b.page.pk,)),
    # --- console: surveys
    "console:surveys-results": lambda w: [
        listing(r("console:surveys-results")),
        listing(r("console:surveys-results") + "?date_from=2025-01-01&date_to=2026-12-31"
                f"&area={w.b.catalog['area'].pk}")],
    "console:surveys-comments": lambda w: [
        listing(r("console:surveys-comments")),
        listing(r("console:surveys-comments") + "?date_from=2025-01-01&date_to=2026-12-31")],
    "console:surveys-kiosks": lambda w: [
        listing(r("console:surveys-kiosks")),
        post(r("console:surveys-kiosks"), {"office": w.b.office.pk, "name": "Intruso"},
             listing=True)],
    "console:surveys-kiosk-deactivate": lambda w: [
        post(r("console:surveys-kiosk-deactivate", w.b.kiosk.pk))],
    # --- console: dashboards and reports
    "console:dashboards-home": lambda w: [
        listing(r("console:dashboards-home")),
        listing(r("console:dashboards-home") + _dashboard_query(w))],
    "console:dashboards-export": _exports,
    "console:dashboards-reports": lambda w: [
        listing(r("console:dashboards-reports")),
        post(r("console:dashboards-reports"), {
            "period_start": "2026-01-01", "period_end": "2026-01-31", "title": "x",
            "area": w.b.catalog["area"].pk}, listing=True)],
    "console:dashboards-report-download": lambda w: [
        get(r("console:dashboards-report-download", w.b.report_run.pk, kind))
        for kind in ("pdf", "xlsx")],
    # --- API
    "api:tickets": _api_tickets,
    "api:ticket": _api_folio("api:ticket"),
    "api:ticket_messages": _api_folio("api:ticket_messages", {"body": "x"}),
    "api:ticket_answers": _api_folio("api:ticket_answers", {"stage": "final", "body": "x"}),
    "api:ticket_area": _api_area,
    "api:ticket_status": _api_folio("api:ticket_status", {"status": "in_progress"}),
    "api:interactions": _interactions,
    # --- Open311
    "open311:requests": _open311,
    "open311:request_detail": _open311_detail,
    "open311:token_detail": _open311_token,
    "open311:updates": _open311_updates,
    # --- portal and public survey pages
    "portal:request-done": lambda w: [get(r("portal:request-done", w.b.ticket.public_id))],
    "portal:track": lambda w: [
        post(r("portal:track"), {"folio": w.b.ticket.folio, "email": "solitaria.alfa@example.cl"},
             listing=True, echo=(w.b.ticket.folio,))],
    "portal:track-link": _track_link,
    "portal:track-detail": lambda w: [
        get(r("portal:track-detail", w.b.ticket.folio), echo=(w.b.ticket.folio,)),
        post(r("portal:track-detail", w.b.ticket.folio), {"body": "x"},
             echo=(w.b.ticket.folio,))],
    "portal:track-attachment": lambda w: [
        get(r("portal:track-attachment", w.b.ticket.folio, w.b.attachment.pk),
            echo=(w.b.ticket.folio,))],
    "portal:my-requests": lambda w: [listing(r("portal:my-requests"))],
    # --- access log and personal-data requests (supervisors and sysadmins of A)
    # These run before A's staff have looked anyone up: the label of a person in A's own
    # access events is checked in test_isolation_people.py.
    "console:access-log": lambda w: [
        listing(r("console:access-log") + f"?folio={w.b.ticket.folio}",
                echo=(w.b.ticket.folio,)),
        listing(r("console:access-log") + f"?persona_id={w.b.person.pk}"),
        listing(r("console:access-log") + f"?persona_id={w.a.shared_person.pk}")],
    "console:access-log-export": lambda w: [
        listing(r("console:access-log-export")),
        post(r("console:access-log-export") + f"?persona_id={w.b.person.pk}",
             {"reason": "auditoría"}, listing=True)],
    "console:erasure-requests": lambda w: [listing(r("console:erasure-requests"))],
    "console:person-export": lambda w: [
        get(r("console:person-export", w.b.person.pk)),
        post(r("console:person-export", w.b.person.pk), {"reason": "x"}),
        # The shared person's export from A: test_isolation_people.py.
        listing(r("console:person-export", w.a.shared_person.pk))],
    "console:person-erase": lambda w: [
        get(r("console:person-erase", w.b.person.pk)),
        post(r("console:person-erase", w.b.person.pk), {"reason": "x", "confirm": "on"})],
    "console:availability": lambda w: [listing(r("console:availability"))],
    "portal:my-data": lambda w: [listing(r("portal:my-data"))],
    "portal:erasure-request": lambda w: [listing(r("portal:erasure-request"))],
    "survey-tracking": lambda w: [
        get(r("survey-tracking", w.b.closed.folio), echo=(w.b.closed.folio,)),
        post(r("survey-tracking", w.b.closed.folio), {"score": "1"},
             echo=(w.b.closed.folio,))],
}

ALLOWED = {
    "healthz": "liveness probe: no data",
    "healthz-live": "liveness probe: no data",
    "set_language": "language cookie only",
    "accounts:login": "login form: no institution data",
    "accounts:logout": "ends the session",
    "accounts:signup": "citizen signup: no institution data",
    "accounts:signup-done": "static confirmation",
    "accounts:verify-resend": "re-sends the caller's own verification e-mail",
    "accounts:verify": "signed single-use token of the caller's own account",
    "accounts:after-login": "redirects to the caller's own start page",
    "accounts:login-code": "second factor of the caller's own login",
    "accounts:password-change": "the caller's own password",
    "accounts:reauth": "re-authentication of the caller's own session",
    "accounts:recovery-codes": "the caller's own recovery codes",
    "accounts:security": "the caller's own security settings",
    "accounts:totp-disable": "the caller's own second factor",
    "accounts:totp-enrol": "the caller's own second factor",
    "api:schema": "OpenAPI schema: no data",
    "api:docs": "API documentation page: no data",
    "api:types": "public catalogue (what the web form shows); a key reads only its own "
                 "(test_api_key_reads_only_its_own_catalog)",
    "api:topics": "public catalogue, see api:types",
    "api:requester_types": "public catalogue, see api:types",
    "api:organizations": "public catalogue, see api:types",
    "api:channels": "global catalogue shared by every institution",
    "api:regions": "national territory, global",
    "api:comunas": "national territory, global",
    "open311:discovery": "endpoint list: no data",
    "open311:services": "public catalogue of a jurisdiction (Open311 services)",
    "open311:service_definition": "public catalogue of a jurisdiction (Open311 services)",
    "meta-webhook": "provider webhook: signature-checked, no caller institution or session",
    "twilio-sms": "provider webhook: signature-checked, no caller institution or session",
    "twilio-status": "provider webhook: signature-checked, no caller institution or session",
    "paper-form-pdf": "public printable form: the institution's public catalogue only",
    "survey-thanks": "static thank-you page",
    "survey-answer": "HMAC capability link of one invitation (tests/surveys/test_tokens.py); "
                     "no session or institution of the caller",
    "kiosk-home": "office kiosk: paired by its own secret cookie, shows only faces",
    "kiosk-thanks": "static thank-you page of the kiosk",
    "portal:home": "public list of institutions",
    "portal:request-new": "public web form of an institution (its public catalogue)",
    "admin:*": "installation-wide tool for is_staff users only (installation operators, not "
               "institution staff); test_admin_refuses_institution_staff",
}
