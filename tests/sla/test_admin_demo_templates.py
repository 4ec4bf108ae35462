"""Admin validation, the demo seed, and the console includes (badge and panel)."""

from datetime import timedelta
from decimal import Decimal

from django.template.loader import render_to_string

from tests.factories import TicketTypeFactory, TopicFactory, open_ticket
from tests.sla.conftest import BD, H, local, make_policy
from ventanilla.catalog.models import Workflow
from ventanilla.sla.admin import CalendarSettingsForm, SlaPolicyForm
from ventanilla.sla.demo import seed_sla_demo
from ventanilla.sla.models import CalendarSettings, SlaPolicy
from ventanilla.sla.services import sla_pause


def _policy_form(catalog, **fields):
    data = {"institution": catalog["institution"].pk, "name": "P",
            "ticket_type": catalog["complaint"].pk, "is_active": "on", "urgency": "",
            "ack_unit": H, "plan_unit": H, "final_unit": H, "at_risk_ratio": "0.75", **fields}
    return SlaPolicyForm(data=data)


def test_policy_form_needs_a_target_and_whole_business_days(catalog):
    form = _policy_form(catalog)
    assert not form.is_valid() and "al menos una etapa" in str(form.errors)
    form = _policy_form(catalog, final_amount="2.5", final_unit=BD)
    assert not form.is_valid() and "final_amount" in form.errors
    assert _policy_form(catalog, final_amount="2.5", final_unit=H).is_valid()
    assert _policy_form(catalog, final_amount="10", final_unit=BD).is_valid()
    elsewhere = TopicFactory()
    form = _policy_form(catalog, final_amount="10", topic=elsewhere.pk)
    assert not form.is_valid() and "topic" in form.errors


def test_calendar_form_checks_workdays_and_hours(catalog):
    base = {"institution": catalog["institution"].pk, "work_start": "09:00", "work_end": "18:00"}
    form = CalendarSettingsForm(data={**base, "workdays": "4, 0,1"})
    assert form.is_valid() and form.cleaned_data["workdays"] == "0,1,4"
    assert not CalendarSettingsForm(data={**base, "workdays": "lunes"}).is_valid()
    assert not CalendarSettingsForm(data={**base, "workdays": "7"}).is_valid()
    late = CalendarSettingsForm(data={**base, "workdays": "0", "work_end": "08:00"})
    assert not late.is_valid() and "work_end" in late.errors


def test_seed_sla_demo(catalog):
    TicketTypeFactory(institution=catalog["institution"], code="ley-20285", name="Ley 20.285")
    TicketTypeFactory(institution=catalog["institution"], code="consulta", name="Consulta")
    policies = seed_sla_demo(catalog["institution"])
    assert seed_sla_demo(catalog["institution"]) == policies  # idempotent
    assert SlaPolicy.objects.count() == len(policies) == 5
    assert CalendarSettings.objects.filter(institution=catalog["institution"]).exists()
    law = SlaPolicy.objects.get(ticket_type__code="ley-20285")
    assert (law.final_amount, law.final_unit) == (Decimal(20), BD)
    suggestion = SlaPolicy.objects.get(ticket_type__workflow=Workflow.INFORMATIVE)
    assert (suggestion.final_amount, suggestion.final_unit) == (Decimal(72), H)
    ticket = open_ticket(catalog, received_at=local(2026, 6, 26, 17, 0))
    assert ticket.sla_policy.topic == catalog["topic"]  # the topic-specific complaint policy
    assert ticket.plan_due_at == local(2026, 6, 28, 17, 0)


def test_badge_and_panel_render_state_and_stages(catalog):
    make_policy(catalog, name="Reclamos 10 días", ack=(0, H), plan=(72, H), final=(10, BD))
    late = open_ticket(catalog, received_at=local(2020, 1, 6, 10, 0))
    badge = render_to_string("console/sla/badge.html", {"ticket": late})
    assert "Vencido" in badge and "badge-overdue" in badge
    panel = render_to_string("console/sla/panel.html", {"ticket": late})
    for text in ("Reclamos 10 días", "Acuse de recibo", "Respuesta intermedia",
                 "Respuesta final", "06-01-2020 10:00", "a tiempo", "Etapa actual"):
        assert text in panel, text
    sla_pause(ticket=late, at=late.received_at + timedelta(hours=1))
    assert "En pausa" in render_to_string("console/sla/badge.html", {"ticket": late})
    assert "En pausa desde" in render_to_string("console/sla/panel.html", {"ticket": late})
    fresh = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert "Sin plazo pendiente" in render_to_string("console/sla/badge.html", {"ticket": fresh})
    fallback = render_to_string("console/sla/panel.html", {"ticket": fresh})
    assert "Plazo base del motivo" in fallback
