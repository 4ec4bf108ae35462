"""Deadlines stored on tickets: holidays, business units, stage progression, pause/resume."""

from datetime import date, time, timedelta

import pytest

from tests.factories import open_ticket
from tests.sla.conftest import BD, BH, H, local, make_policy
from ventanilla.accounts.models import Role
from ventanilla.sla.models import CalendarException, CalendarSettings
from ventanilla.sla.services import (
    sla_calendar_for,
    sla_pause,
    sla_resume,
    sla_stage_reached,
)
from ventanilla.tickets.models import EventKind, ResponseStage, Status
from ventanilla.tickets.services import ticket_change_status

# Friday 26 June 2026, 17:00 in Santiago; Monday 29 June 2026 is San Pedro y San Pablo.
FRIDAY_5PM = local(2026, 6, 26, 17, 0)


def test_friday_before_monday_holiday_under_calendar_hours(catalog):
    make_policy(catalog, ack=(0, H), plan=(24, H), final=(72, H))
    ticket = open_ticket(catalog, received_at=FRIDAY_5PM)
    # Calendar hours run through the weekend and the holiday.
    assert ticket.plan_due_at == local(2026, 6, 27, 17, 0)
    assert ticket.due_at == local(2026, 6, 29, 17, 0)


def test_friday_before_monday_holiday_under_business_days_and_hours(catalog):
    make_policy(catalog, plan=(2, BH), final=(1, BD))
    ticket = open_ticket(catalog, received_at=FRIDAY_5PM)
    # One working hour left on Friday, Monday is a holiday: Tuesday 10:00.
    assert ticket.plan_due_at == local(2026, 6, 30, 10, 0)
    # One business day after Friday, skipping the weekend and the holiday: Tuesday 18:00.
    assert ticket.due_at == local(2026, 6, 30, 18, 0)
    # At risk at 75 % of the two working hours: Tuesday 09:30.
    assert ticket.next_due_at == ticket.plan_due_at
    assert ticket.at_risk_at == local(2026, 6, 30, 9, 30)


def test_institution_calendar_and_exceptions_apply_at_once(catalog):
    make_policy(catalog, final=(1, BD))
    institution = catalog["institution"]
    CalendarException.objects.create(institution=institution, day=date(2026, 6, 30),
                                     description="Día del funcionario")
    assert open_ticket(catalog, received_at=FRIDAY_5PM).due_at == local(2026, 7, 1, 18, 0)
    # A holiday the institution works makes Monday a business day.
    CalendarException.objects.create(institution=institution, day=date(2026, 6, 29),
                                     is_working=True)
    CalendarSettings.objects.create(institution=institution, work_start=time(8, 30),
                                    work_end=time(17, 30), workdays="0,1,2,3,4")
    assert open_ticket(catalog, received_at=FRIDAY_5PM).due_at == local(2026, 6, 29, 17, 30)
    calendar = sla_calendar_for(institution)
    assert calendar.work_start == time(8, 30)
    assert date(2026, 6, 30) in calendar.extra_non_working


def test_regional_holidays_from_calendar_settings(catalog):
    from ventanilla.core.models import Region

    CalendarSettings.objects.create(institution=catalog["institution"],
                                    holiday_region=Region.objects.get(holidays_subdiv="NB"))
    # 20 August 2026 (Thursday) is Ñuble's regional holiday.
    assert not sla_calendar_for(catalog["institution"]).is_business_day(date(2026, 8, 20))
    CalendarSettings.objects.all().delete()
    assert sla_calendar_for(catalog["institution"]).is_business_day(date(2026, 8, 20))


def test_stage_progression_and_final_answer_satisfies_plan(catalog):
    make_policy(catalog, ack=(0, H), plan=(72, H), final=(10, BD))
    received = local(2026, 3, 2, 10, 0)
    ticket = open_ticket(catalog, received_at=received)
    assert ticket.acknowledged_at == received
    assert ticket.next_due_at == ticket.plan_due_at == received + timedelta(hours=72)
    assert ticket.at_risk_at == received + timedelta(hours=54)

    sla_stage_reached(ticket=ticket, stage=ResponseStage.PLAN, at=received + timedelta(hours=5))
    ticket.refresh_from_db()
    assert ticket.plan_answered_at == received + timedelta(hours=5)
    assert ticket.next_due_at == ticket.due_at == local(2026, 3, 16, 18, 0)
    # 75 % of the working time from Monday 10:00 to the 16th 18:00 (10 days - 1 h + 9 h).
    assert ticket.at_risk_at < ticket.due_at

    skipped = open_ticket(catalog, received_at=received)
    final_at = received + timedelta(hours=30)
    sla_stage_reached(ticket=skipped, stage=ResponseStage.FINAL, at=final_at)
    skipped.refresh_from_db()
    assert skipped.plan_answered_at == skipped.final_answered_at == final_at
    assert skipped.next_due_at is None and skipped.at_risk_at is None
    # Reaching a stage again never overwrites the recorded time.
    sla_stage_reached(ticket=skipped, stage=ResponseStage.PLAN, at=final_at + timedelta(days=1))
    skipped.refresh_from_db()
    assert skipped.plan_answered_at == final_at


def test_type1_ticket_is_done_on_entry(catalog):
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert ticket.status == Status.CLOSED
    assert ticket.final_answered_at == ticket.received_at
    assert ticket.next_due_at is None


def _staff(catalog):
    from tests.sla.conftest import member

    return member(catalog, Role.SUPERVISOR)


def test_pause_and_resume_move_calendar_hour_deadlines(catalog):
    make_policy(catalog, ack=(0, H), plan=(72, H), final=(240, H))
    received = local(2026, 3, 2, 10, 0)
    ticket = open_ticket(catalog, received_at=received)
    plan, final, risk = ticket.plan_due_at, ticket.due_at, ticket.at_risk_at
    paused = received + timedelta(hours=3)
    sla_pause(ticket=ticket, at=paused)
    sla_pause(ticket=ticket, at=paused + timedelta(hours=1))  # already paused: no-op
    ticket.refresh_from_db()
    assert ticket.paused_at == paused
    sla_resume(ticket=ticket, at=paused + timedelta(hours=10))
    ticket.refresh_from_db()
    assert ticket.paused_at is None
    assert ticket.plan_due_at == plan + timedelta(hours=10)
    assert ticket.due_at == final + timedelta(hours=10)
    assert ticket.next_due_at == ticket.plan_due_at
    assert ticket.at_risk_at == risk + timedelta(hours=10)
    assert ticket.ack_due_at == received  # already answered: untouched
    sla_resume(ticket=ticket, at=paused + timedelta(hours=20))  # not paused: no-op
    ticket.refresh_from_db()
    assert ticket.due_at == final + timedelta(hours=10)
    kinds = list(ticket.events.filter(kind__in=[EventKind.SLA_PAUSED, EventKind.SLA_RESUMED])
                 .values_list("kind", "is_public"))
    assert kinds == [(EventKind.SLA_PAUSED, False), (EventKind.SLA_RESUMED, False)]


def test_pause_and_resume_move_business_deadlines_by_working_time(catalog):
    make_policy(catalog, plan=(72, H), final=(10, BD))
    received = local(2026, 6, 22, 9, 0)  # Monday
    ticket = open_ticket(catalog, received_at=received)
    assert ticket.due_at == local(2026, 7, 7, 18, 0)  # 10 business days, 29 June skipped
    plan = ticket.plan_due_at
    # Paused Friday 17:00 → resumed Tuesday 10:00 (Monday holiday): 2 working hours, 89 h.
    sla_pause(ticket=ticket, at=FRIDAY_5PM)
    sla_resume(ticket=ticket, at=local(2026, 6, 30, 10, 0))
    ticket.refresh_from_db()
    assert ticket.due_at == local(2026, 7, 8, 11, 0)
    assert ticket.plan_due_at == plan + timedelta(hours=89)


def test_waiting_on_the_citizen_pauses_through_the_status_service(catalog):
    make_policy(catalog, plan=(72, H), final=(240, H))
    ticket = open_ticket(catalog)
    final = ticket.due_at
    actor = _staff(catalog)
    ticket_change_status(ticket=ticket, actor=actor, to_status=Status.WAITING_CITIZEN)
    ticket.refresh_from_db()
    assert ticket.paused_at is not None
    ticket_change_status(ticket=ticket, actor=actor, to_status=Status.IN_PROGRESS)
    ticket.refresh_from_db()
    assert ticket.paused_at is None
    assert ticket.due_at >= final
    assert ticket.events.filter(kind=EventKind.SLA_RESUMED).count() == 1


@pytest.mark.parametrize("stage", [ResponseStage.DONE, ResponseStage.FINAL])
def test_done_stops_the_clock(catalog, stage):
    ticket = open_ticket(catalog)
    sla_stage_reached(ticket=ticket, stage=stage, at=ticket.received_at + timedelta(hours=1))
    ticket.refresh_from_db()
    assert ticket.next_due_at is None and ticket.at_risk_at is None
    assert ticket.final_answered_at == ticket.received_at + timedelta(hours=1)
