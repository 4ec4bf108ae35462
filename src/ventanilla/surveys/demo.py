"""Demo data of the surveys app (called by ``seed_demo``): the homologated reasons, a
default 5-face survey, a 3-face one for in-person attention, and two offices if there are
none. Idempotent: running it again changes nothing."""

from __future__ import annotations

from ventanilla.catalog.models import Channel, Office
from ventanilla.core.models import Comuna
from ventanilla.surveys.models import Scale, Survey, SurveyReason

DEMO_REASONS = [
    ("tiempo-espera", "Tiempo de espera"),
    ("claridad", "Claridad de la respuesta"),
    ("amabilidad", "Amabilidad de la atención"),
    ("solucion", "Solución a lo que necesitaba"),
    ("facilidad", "Facilidad del trámite"),
]
DEMO_OFFICES = [
    ("Oficina Santiago Centro", "13101", "Moneda 1020"),
    ("Oficina Valparaíso", "05101", "Av. Brasil 1500"),
]


def seed_surveys_demo(institution) -> dict:
    reasons = [
        SurveyReason.objects.get_or_create(
            institution=institution, code=code,
            defaults={"label": label, "position": position},
        )[0]
        for position, (code, label) in enumerate(DEMO_REASONS)
    ]
    default, _ = Survey.objects.get_or_create(
        institution=institution, channel=None,
        defaults={"scale": Scale.FIVE, "question": "¿Cómo evalúa la atención recibida?"},
    )
    in_person, _ = Survey.objects.get_or_create(
        institution=institution, channel=Channel.objects.get(code="in_person"),
        defaults={"scale": Scale.THREE, "question": "¿Cómo lo atendimos hoy?",
                  "comment_enabled": False},
    )
    for survey in (default, in_person):
        if not survey.reasons.exists():
            survey.reasons.set(reasons)
    offices = list(Office.objects.filter(institution=institution))
    if not offices:
        for position, (name, comuna_code, address) in enumerate(DEMO_OFFICES):
            comuna = Comuna.objects.get(code=comuna_code)
            offices.append(Office.objects.create(
                institution=institution, name=name, comuna=comuna, region=comuna.region,
                address=address, position=position))
    return {"reasons": reasons, "default": default, "in_person": in_person, "offices": offices}
