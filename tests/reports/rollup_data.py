"""The small hand-computed data set of the rollup and figure tests (fixtures in
``tests/reports/conftest.py`` would be shared with the other reports tests; these are
imported by name by the two test modules that use them).

Period: March 2026 (Chile). NOW = 2026-03-20 12:00 Chile. Complaints have a policy of
ack 24 h, plan 72 h, final 240 h (the acknowledgement is automatic, at reception);
suggestions take the fallback (plan 72 h, final 72 h) and close themselves at reception.

    T    channel type        topic         comuna       received (Chile)  outcome
    T1   web     complaint   PAE           Santiago     03-02 10:00   plan 10h, final 100h,
                                                                      first 10h, closed
    T2   web     complaint   PAE           Santiago     03-03 10:00   plan 80h, final 300h,
                                                                      first 80h (late), open
    T3   phone   complaint   PAE           Valparaíso   03-04 10:00   nothing (overdue), open
    T4   phone   complaint   Becas         Santiago     03-18 10:00   nothing (pending), open
    T5   email   complaint   Becas/BAES    Providencia  03-05 10:00   final 50h (the plan too),
                                                                      first 50h, closed
    T6   email   suggestion  PAE           Santiago     03-06 10:00   auto-closed
    T7   web     suggestion  Becas/BAES    Valparaíso   03-07 10:00   auto-closed
    T8   web     complaint   Becas/BAES    Valparaíso   03-08 10:00   plan 20h, first 20h,
                                                                      final overdue, open
    T9   phone   complaint   Becas         Santiago     03-01 00:00:00  plan 30h, final 200h,
                                                                      first 30h, closed
    T10  web     complaint   PAE           Santiago     02-28 23:59:59  out of period, open
    T11  web     complaint   PAE           Providencia  2025-03-10 10:00  a year before, open
    T12  email   complaint   PAE           (none)       03-09 22:30   plan 70h, final 250h
                                                                      (late), first 70h, closed

Interactions in March 2026: the ten ticket openings (web/email self-service 7, phone
assisted 3), two status look-ups of T1 on the web (self-service), one phone call solved on
the spot (assisted): 9 self-service, 4 assisted. March 2025: T11's opening (self-service)
and one counter attention (assisted).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.factories import AreaFactory, InstitutionFactory, TopicFactory, channel, make_catalog
from tests.factories import open_ticket as factory_open_ticket
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.core.models import Comuna
from ventanilla.reports.tables import DashboardFilters
from ventanilla.sla.models import SlaPolicy, Unit
from ventanilla.sla.services import sla_stage_reached
from ventanilla.tickets.models import Interaction, ResponseStage, Status, Ticket
from ventanilla.tickets.services import (
    interaction_record_attended,
    interaction_record_tracking,
    ticket_change_status,
)

SCL = ZoneInfo("America/Santiago")
MARCH_FROM, MARCH_TO = date(2026, 3, 1), date(2026, 3, 31)


def local(*args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=SCL, fold=fold)


NOW = local(2026, 3, 20, 12, 0)


def _answer(ticket: Ticket, stage: str, hours: float) -> None:
    sla_stage_reached(ticket=ticket, stage=stage, at=ticket.received_at + timedelta(hours=hours))


def _first_answer(ticket: Ticket, hours: float) -> None:
    # No service takes the time of a reply (ticket_reply stamps "now"): set it in the test.
    Ticket.objects.filter(pk=ticket.pk).update(
        first_answered_at=ticket.received_at + timedelta(hours=hours))


def build_data_set() -> dict:
    catalog = make_catalog()
    institution = catalog["institution"]
    SlaPolicy.objects.create(
        institution=institution, name="Reclamos", ticket_type=catalog["complaint"],
        ack_amount=Decimal(24), ack_unit=Unit.CALENDAR_HOURS,
        plan_amount=Decimal(72), plan_unit=Unit.CALENDAR_HOURS,
        final_amount=Decimal(240), final_unit=Unit.CALENDAR_HOURS, at_risk_ratio=Decimal("0.75"),
    )
    becas_area = AreaFactory(institution=institution, name="Área Becas")
    becas = TopicFactory(institution=institution, name="Becas", default_area=becas_area)
    baes = TopicFactory(institution=institution, name="BAES", parent=becas,
                        default_area=becas_area)
    pae = catalog["topic"]
    santiago, providencia, valparaiso = (Comuna.objects.get(code=code)
                                         for code in ("13101", "13123", "05101"))
    web, phone, email = channel("web"), channel("phone"), channel("email")
    complaint, suggestion = catalog["complaint"], catalog["suggestion"]
    supervisor = staff(institution, Role.SUPERVISOR)

    def ticket(chan, ticket_type, topic, comuna, received_at):
        # Without an establishment, the territory is only what the person gave (or none).
        return factory_open_ticket(
            catalog, channel=chan, ticket_type=ticket_type, topic=topic, organization=None,
            region=comuna.region if comuna else None, comuna=comuna, received_at=received_at)

    def close(t):
        ticket_change_status(ticket=t, actor=supervisor, to_status=Status.CLOSED)

    t = {}
    t[1] = ticket(web, complaint, pae, santiago, local(2026, 3, 2, 10, 0))
    _answer(t[1], ResponseStage.PLAN, 10)
    _answer(t[1], ResponseStage.FINAL, 100)
    _first_answer(t[1], 10)
    t[2] = ticket(web, complaint, pae, santiago, local(2026, 3, 3, 10, 0))
    _answer(t[2], ResponseStage.PLAN, 80)
    _answer(t[2], ResponseStage.FINAL, 300)
    _first_answer(t[2], 80)
    t[3] = ticket(phone, complaint, pae, valparaiso, local(2026, 3, 4, 10, 0))
    t[4] = ticket(phone, complaint, becas, santiago, local(2026, 3, 18, 10, 0))
    t[5] = ticket(email, complaint, baes, providencia, local(2026, 3, 5, 10, 0))
    _answer(t[5], ResponseStage.FINAL, 50)
    _first_answer(t[5], 50)
    t[6] = ticket(email, suggestion, pae, santiago, local(2026, 3, 6, 10, 0))
    t[7] = ticket(web, suggestion, baes, valparaiso, local(2026, 3, 7, 10, 0))
    t[8] = ticket(web, complaint, baes, valparaiso, local(2026, 3, 8, 10, 0))
    _answer(t[8], ResponseStage.PLAN, 20)
    _first_answer(t[8], 20)
    t[9] = ticket(phone, complaint, becas, santiago, local(2026, 3, 1, 0, 0, 0))
    _answer(t[9], ResponseStage.PLAN, 30)
    _answer(t[9], ResponseStage.FINAL, 200)
    _first_answer(t[9], 30)
    t[10] = ticket(web, complaint, pae, santiago, local(2026, 2, 28, 23, 59, 59))
    t[11] = ticket(web, complaint, pae, providencia, local(2025, 3, 10, 10, 0))
    t[12] = ticket(email, complaint, pae, None, local(2026, 3, 9, 22, 30))
    _answer(t[12], ResponseStage.PLAN, 70)
    _answer(t[12], ResponseStage.FINAL, 250)
    _first_answer(t[12], 70)
    for number in (1, 5, 9, 12):
        t[number].refresh_from_db()
        close(t[number])
    for number in t:
        t[number].refresh_from_db()

    # Two status look-ups of T1 on the web in March (the service stamps "now": moved here).
    for day in (10, 11):
        looked_up = interaction_record_tracking(ticket=t[1], channel=web)
        Interaction.objects.filter(pk=looked_up.pk).update(occurred_at=local(2026, 3, day, 9))
    interaction_record_attended(institution=institution, channel=phone, actor=supervisor,
                                summary="Consulta por fecha de pago", at=local(2026, 3, 12, 11))
    interaction_record_attended(institution=institution, channel=channel("in_person"),
                                actor=supervisor, summary="Consulta por requisitos",
                                at=local(2025, 3, 15, 11))

    # Another institution's ticket in the same period must never show.
    other = make_catalog(InstitutionFactory())
    factory_open_ticket(other, received_at=local(2026, 3, 2, 10, 0))

    return {"catalog": catalog, "institution": institution, "tickets": t, "pae": pae,
            "becas": becas, "baes": baes, "becas_area": becas_area, "pae_area": catalog["area"],
            "web": web, "phone": phone, "email": email, "supervisor": supervisor,
            "santiago": santiago, "valparaiso": valparaiso, "providencia": providencia,
            "other": other}


def march(data: dict, **filters) -> DashboardFilters:
    return DashboardFilters(institution=data["institution"], date_from=MARCH_FROM,
                            date_to=MARCH_TO, **filters)
