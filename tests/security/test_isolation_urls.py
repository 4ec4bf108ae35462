"""Institutions are isolated: every URL of the project, asked by every role of institution A
(and by A's API key, a registered citizen and an anonymous visitor) for institution B's
objects, answers a refusal or A's own data — never B's bytes — and changes nothing of B.

The URL list comes from the resolver: a pattern neither in ``CASES`` nor in ``ALLOWED``
(``isolation_cases.py``) fails ``test_every_url_pattern_is_covered``.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import UserFactory
from tests.security.isolation_cases import ALLOWED, CASES, Req
from tests.security.world import ROLES, build_world, echo_variants, leaks
from ventanilla.citizens.models import Citizen, CitizenMerge
from ventanilla.paper.models import PaperIntake
from ventanilla.reports.models import ReportRun
from ventanilla.surveys.models import Kiosk, SurveyResponse
from ventanilla.tickets.models import Interaction, Ticket, TicketAnswer, TicketEvent, TicketLink

ACTORS = (*ROLES, "citizen", "anonymous", "api_key")
SAFE_STATUSES = {401, 403, 404, 405}

# B's personal data (the public Open311 feed may publish B's folios, services and areas).
PERSONAL = ["Asunto ZQXB", "Detalle ZQXB", "Persona ZQXB", "Nota interna ZQXB",
            "Borrador ZQXB", "Respuesta final ZQXB", "Comentario ZQXB", "Duplicada ZQXB",
            ".zqxb@", "7777 4321", "77774321", "6666 1111", "66661111", "15.975.346",
            "15975346", "5555 0001", "55550001"]


# --- the URL inventory ---------------------------------------------------------------------------

def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            if route.startswith("admin/"):
                name = "admin:*"
            yield name or route, route


def url_inventory() -> dict[str, str]:
    return dict(_walk(get_resolver().url_patterns))


def test_every_url_pattern_is_covered():
    """A new route needs an isolation case or a written reason why it needs none."""
    missing = sorted(f"{name}  ({route})" for name, route in url_inventory().items()
                     if name not in CASES and name not in ALLOWED)
    assert not missing, (
        "URL patterns without an isolation check: add them to CASES (requests for B's "
        "objects) or to ALLOWED (with the reason) in tests/security/isolation_cases.py:\n"
        + "\n".join(missing))


def test_no_stale_or_doubled_entries():
    names = set(url_inventory())
    assert not (set(CASES) - names), f"CASES names gone routes: {set(CASES) - names}"
    assert not (set(ALLOWED) - names), f"ALLOWED names gone routes: {set(ALLOWED) - names}"
    assert not (set(CASES) & set(ALLOWED)), "a route is both checked and allowed"
    assert all(reason.strip() for reason in ALLOWED.values())


# --- B's state before and after ------------------------------------------------------------------

def _snapshot(world) -> dict:
    b = world.b.institution
    tickets = Ticket.objects.filter(institution=b)
    return {
        "tickets": sorted(tickets.values_list(
            "pk", "status", "area_id", "assignee_id", "triage_status", "merged_into_id",
            "root_cause", "corrective_action", "citizen_id")),
        "events": TicketEvent.objects.filter(ticket__institution=b).count(),
        "answers": sorted(TicketAnswer.objects.filter(ticket__institution=b)
                          .values_list("pk", "status", "body")),
        "links": TicketLink.objects.filter(from_ticket__institution=b).count()
        + TicketLink.objects.filter(to_ticket__institution=b).count(),
        "interactions": Interaction.objects.filter(institution=b).count()
        + Interaction.objects.filter(ticket__institution=b).count(),
        "people": sorted(Citizen.objects.filter(tickets__institution=b).distinct()
                         .values_list("pk", "merged_into_id", "full_name", "email", "phone")),
        "merges": sorted(CitizenMerge.objects.values_list("pk", "undone_at")),
        "intakes": sorted(PaperIntake.objects.filter(institution=b)
                          .values_list("pk", "status", "ticket_id")),
        "kiosks": sorted(Kiosk.objects.filter(institution=b).values_list("pk", "is_active")),
        "reports": ReportRun.objects.filter(institution=b).count(),
        "responses": SurveyResponse.objects.filter(institution=b).count(),
        # Nothing of A may point at B's catalogue (a form accepting B's ids).
        "a_with_b_catalog": Ticket.objects.filter(institution=world.a.institution).filter(
            ticket_type__institution=b).count() + Ticket.objects.filter(
            institution=world.a.institution, topic__institution=b).count()
        + Ticket.objects.filter(institution=world.a.institution, area__institution=b).count(),
    }


# --- the requests --------------------------------------------------------------------------------

def _client_for(world, actor: str) -> tuple[Client, dict]:
    client = Client()
    headers: dict = {}
    if actor in ROLES:
        client.force_login(world.a.staff[actor])
    elif actor == "citizen":
        from django.utils import timezone

        client.force_login(UserFactory(email="solitaria.alfa@example.cl",
                                       email_verified_at=timezone.now()))
    elif actor == "api_key":
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {world.a.api_raw}"
    return client, headers


def _send(client: Client, headers: dict, req: Req, api_raw: str | None):
    url = req.url
    if req.open311 and api_raw:
        url += ("&" if "?" in url else "?") + urlencode({"api_key": api_raw})
    extra = {**headers, **req.extra}
    if req.method == "GET":
        return client.get(url, **extra)
    if req.content_type:
        return client.generic("POST", url, req.data, content_type=req.content_type, **extra)
    return client.post(url, req.data, **extra)


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _problems(world, req: Req, response) -> list[str]:
    # A page may write back the URL it was asked for (a login "next", a language form).
    from dataclasses import replace

    req = replace(req, echo=req.echo + tuple(f for f in world.b.folios if f in req.url))
    secrets = PERSONAL if req.personal_only else world.b.secrets
    where = f"{req.method} {req.url} → {response.status_code}"
    problems = []
    if response.status_code >= 500:
        problems.append(f"{where}: server error")
    found = leaks(_body(response), secrets, echo=req.echo)
    location = response.get("Location", "")
    for value in echo_variants(req.echo):
        location = location.replace(value, "")
    found += [f"Location:{s}" for s in secrets if s in location]
    if found:
        problems.append(f"{where}: B's data in the response: {sorted(set(found))}")
    if not req.listing and response.status_code not in SAFE_STATUSES and not (
            response.status_code == 302 and not found):
        problems.append(f"{where}: expected a refusal (401/403/404/405)")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
def test_actor_of_a_never_reaches_b(actor):
    cache.clear()  # rate limits count in the shared cache
    world = build_world()
    before = _snapshot(world)
    client, headers = _client_for(world, actor)
    api_raw = world.a.api_raw if actor == "api_key" else None
    problems = []
    # The access log first: later requests leave A's own audit events about B's person
    # (their label is test_isolation_people.py's concern).
    for name, build in sorted(CASES.items(), key=lambda c: not c[0].startswith("console:acc")):
        for req in build(world):
            try:
                response = _send(client, headers, req, api_raw)
            except Exception as error:
                problems.append(f"[{name}] {req.method} {req.url}: {error!r}")
                continue
            problems += [f"[{name}] {p}" for p in _problems(world, req, response)]
    assert not problems, f"{actor} of A:\n" + "\n".join(problems)
    assert _snapshot(world) == before, f"{actor} of A changed B's data"
