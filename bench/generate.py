"""Realistic tickets at national scale for the benchmarks: one institution with its catalog and
N tickets (10 000 … 10 000 000) with their citizens, timeline events and interactions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/generate.py \
        --tickets 2000000 --seed 7 --slug bench-inbox [--years 3] [--no-events] [--drop]

As a module (what the other benchmarks do)::

    from bench.generate import generate, drop
    stats = generate(tickets=100_000, seed=7, institution_slug="bench-inbox")
    ...
    drop("bench-inbox")

What it looks like (the demo's shares, ``seed_demo``): channels (web form first, then phone,
e-mail, counter, WhatsApp…), types (complaint, inquiry, Ley 20.285, suggestion, compliment),
a two-level topic catalog with Zipf popularity and a "new subsidy" topic that explodes in one
month, each topic's area but ~10 % derived elsewhere (an area-change event), regions by
population (Santiago heaviest) and comunas skewed inside each, weekday/hour/month seasonality.
Statuses follow age: every stage (triage, intermediate answer, final answer, a pause waiting on
the person) takes a drawn time, so old tickets are closed and recent ones sit in the open stages
with deadlines, ``next_due_at`` and ``at_risk_at`` exactly as ``sla.services`` would store them
(the generated SLA policies count calendar hours, so no business-calendar math per row).

Same seed, slug and end → same rows (surrogate ids aside, which come from the sequences).
Streaming: rows are built and written per chunk, so 10 M tickets never sit in memory.
PostgreSQL: ``COPY … FROM STDIN`` per table per chunk, one transaction per chunk; SQLite:
``bulk_create``. The rows bypass the services on purpose (that is the point of a generator);
run ``reports_rebuild --institution SLUG`` afterwards for the dashboard rollups.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import os
import random
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make ``src`` and the repo importable
    from pathlib import Path

    _ROOT = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(_ROOT / "src"))
    sys.path.insert(0, str(_ROOT))

SANTIAGO = ZoneInfo("America/Santiago")
CHUNK = 20_000  # tickets per transaction: bounded memory, bounded deferred-FK queue

# Rough population in hundred-thousands (Censo 2017/2024 order of magnitude), by CUT code.
REGION_POPULATION = {"13": 81, "05": 19, "08": 16, "07": 11, "09": 10, "06": 10, "10": 9,
                     "04": 8.5, "02": 7, "16": 5, "14": 4, "01": 3.7, "03": 3, "15": 2.5,
                     "12": 1.7, "11": 1}
# Local-time hour of reception; assisted channels only work office hours.
HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4.5, 5.5, 5.5, 5, 4, 4.5, 5, 4.5,
                3.8, 3, 2.6, 2.3, 1.8, 1.2, 0.6]
WEEKDAY_FACTOR = [1.25, 1.15, 1.1, 1.05, 0.95, 0.45, 0.35]
# A school-year institution: March and April peak, summer and winter holidays low.
MONTH_FACTOR = [0.55, 0.6, 1.6, 1.35, 1.1, 1.0, 0.75, 1.1, 0.9, 1.0, 0.95, 0.7]
SPIKE_FACTOR = 2.5  # the month a new subsidy opens (SENCE: +1,757 % in two years)
SPIKE_TOPIC_SHARE = 0.45  # of that month's tickets, about the new subsidy
DERIVED_SHARE = 0.10
NO_TERRITORY_SHARE = 0.05
REPEAT_REQUESTER_SHARE = 0.3
ASSISTED_CODES = {"phone", "in_person", "paper"}
SELF_SERVICE_CODES = ["web", "chatbot", "kiosk", "whatsapp", "ivr"]
ATTENDED_CODES = ["phone", "in_person"]

# Calendar-hour targets (ack, plan, final) per type code; None: no such stage.
SLA_TARGETS = {
    "reclamo": (0, 72, 336),
    "consulta": (None, 72, 168),
    "ley-20285": (None, None, 672),
    "type1": (None, None, 72),
}
AT_RISK_RATIO = 0.75

AREAS = ["Atención Ciudadana / OIRS", "Programa de Alimentación Escolar", "Canastas y Logística",
         "Becas y Asistencialidad", "Salud del Estudiante", "Tarjeta Nacional Estudiantil",
         "Residencias Estudiantiles", "Transparencia y Ley 20.285"]
# program, area index, products (name, words a person would use)
TOPICS = [
    ("Programa de Alimentación Escolar (PAE)", 1, [
        ("PAE Kinder-Prekinder", "desayuno leche colación párvulos"),
        ("PAE Básica-Media", "almuerzo colación comida porciones"),
        ("PAE Celiaco", "menú sin gluten celiaquía certificado"),
        ("PAE Biométrico", "huella lector biométrico enrolamiento"),
        ("PAE Vacaciones", "alimentación verano escuela abierta")]),
    ("Canastas Junaeb", 2, [
        ("Entrega de canastas", "retiro canasta horario entrega"),
        ("Contenido de canastas", "aceite legumbres productos listado")]),
    ("Becas", 3, [
        ("Beca BAES", "tarjeta BAES carga comercios alimentación"),
        ("Beca Indígena", "CONADI certificado pago indígena"),
        ("Beca Presidente de la República", "renovación promedio notas"),
        ("Beca de Mantención", "mantención pago cuenta RUT"),
        ("Beca TIC Yo Elijo Mi PC", "computador notebook entrega")]),
    ("Salud del Estudiante", 4, [
        ("Oftalmología", "lentes ópticos control vista"),
        ("Otorrino", "audífonos audición control"),
        ("Salud bucal", "dental módulo dentista"),
        ("Columna", "escoliosis kinesiólogo control")]),
    ("Tarjeta Nacional Estudiantil (TNE)", 5, [
        ("Emisión TNE", "pase escolar fotografía emisión"),
        ("Revalidación TNE", "revalidar sello pago"),
        ("Bloqueo y reposición TNE", "pérdida robo reposición bloqueo")]),
    ("Residencia Estudiantil", 6, [
        ("Hogares estudiantiles", "hogar residencia cupo"),
        ("Residencia familiar", "familia tutora pago")]),
    ("Útiles escolares", 2, [("Set de útiles", "cuadernos mochila set útiles")]),
    ("Bono de Apoyo Escolar 2025", 3, [  # the new subsidy: its month is the spike
        ("Postulación al bono", "postular bono formulario requisitos"),
        ("Pago del bono", "pago bono transferencia cuenta")]),
]
SPIKE_PROGRAM = "Bono de Apoyo Escolar 2025"
TYPES = [  # code, name, workflow, target hours, weight (seed_demo's TYPE_WEIGHTS)
    ("reclamo", "Reclamo", "type2", 72, 45),
    ("consulta", "Consulta", "type2", 72, 35),
    ("ley-20285", "Solicitud de información Ley 20.285", "type2", 480, 6),
    ("sugerencia", "Sugerencia", "type1", 72, 8),
    ("felicitacion", "Felicitación", "type1", 72, 6),
]
SUBJECTS = {
    "reclamo": ["Problema con {topic}", "Reclamo por {topic} en {comuna}",
                "No he tenido respuesta sobre {topic}", "Mala atención en {topic}",
                "{topic}: nadie me soluciona"],
    "consulta": ["Consulta sobre {topic}", "¿Cómo funciona {topic}?",
                 "Requisitos de {topic}", "Fechas de {topic} en {comuna}"],
    "ley-20285": ["Solicitud de información: {topic}", "Ley 20.285 — datos de {topic}"],
    "sugerencia": ["Sugerencia sobre {topic}", "Idea para mejorar {topic}"],
    "felicitacion": ["Felicitaciones por {topic}", "Buena atención en {topic}"],
}
OPENINGS = {
    "reclamo": "Quiero reclamar porque {words} no funciona como debería en {org} de {comuna}.",
    "consulta": "Quisiera saber sobre {words}; en {org} de {comuna} no me supieron responder.",
    "ley-20285": "Conforme a la Ley 20.285 solicito información sobre {words} en la comuna de "
                 "{comuna}, en formato planilla.",
    "sugerencia": "Sugiero mejorar {words} en {org}; muchas familias de {comuna} lo piden.",
    "felicitacion": "Quiero felicitar al equipo por {words} en {org} de {comuna}.",
}
SENTENCES = [
    "Mi hijo {nombre} está en {curso} y es beneficiario desde el año pasado.",
    "Ya llamé dos veces y me dijeron que esperara.",
    "Fui a la oficina el {dia} y no había nadie que atendiera.",
    "Adjunto el comprobante que me entregaron.",
    "Necesito una respuesta urgente porque somos varias familias afectadas.",
    "En el establecimiento dicen que es un tema de Junaeb.",
    "La página web no carga el formulario desde el {dia}.",
    "Me pidieron el certificado de alumno regular y ya lo presenté.",
    "Mi hija {nombre} no puede asistir sin esta ayuda.",
    "Vivo lejos y el traslado es caro, por eso escribo por aquí.",
    "Gracias de antemano por su respuesta.",
    "El problema empezó en marzo y sigue igual.",
    "Otros apoderados del curso tienen el mismo problema.",
    "La empresa prestadora no contesta el teléfono.",
    "Solicito que me informen por correo electrónico.",
    "Revisé el sitio y la información está desactualizada.",
]
FIRST_NAMES = ["María José", "Camila", "Valentina", "Javiera", "Francisca", "Constanza",
               "Catalina", "Fernanda", "Daniela", "Carolina", "Paola", "Marcela", "Patricia",
               "Claudia", "Rosa", "Ximena", "Gabriela", "Isidora", "Josefa", "Antonia",
               "Juan Pablo", "José", "Matías", "Benjamín", "Vicente", "Cristóbal", "Sebastián",
               "Felipe", "Rodrigo", "Cristian", "Luis", "Jorge", "Carlos", "Manuel", "Héctor",
               "Patricio", "Mauricio", "Nicolás", "Tomás", "Diego", "Ignacio", "Bárbara",
               "Pilar", "Macarena", "Elena", "Raúl", "Andrés", "Pedro", "Alejandra", "Verónica"]
LAST_NAMES = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva",
              "Martínez", "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Hernández",
              "Torres", "Araya", "Flores", "Espinoza", "Valenzuela", "Castillo", "Tapia",
              "Reyes", "Gutiérrez", "Castro", "Pizarro", "Álvarez", "Vásquez", "Sánchez",
              "Fernández", "Ramírez", "Carrasco", "Gómez", "Cortés", "Herrera", "Núñez", "Jara",
              "Vergara", "Rivera", "Figueroa", "Huenchullán", "Catrileo", "Millapán", "Ñancupil",
              "Quispe", "Mamani", "Bustos", "Olivares", "Cáceres", "Zúñiga"]
STUDENT_NAMES = ["Agustín", "Florencia", "Martina", "Joaquín", "Emilia", "Maximiliano",
                 "Trinidad", "Bastián", "Amanda", "Lucas", "Sofía", "Alonso"]
COURSES = ["1° básico", "3° básico", "5° básico", "8° básico", "1° medio", "3° medio",
           "4° medio", "kinder", "prekinder"]
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes"]
SCHOOL_WORDS = ["Escuela", "Liceo", "Colegio", "Escuela Básica", "Liceo Bicentenario"]
SCHOOL_NAMES = ["Gabriela Mistral", "Pablo Neruda", "Arturo Prat", "República de Chile",
                "Bernardo O'Higgins", "Los Aromos", "Santa Teresa", "El Roble", "Violeta Parra",
                "Manuel Rodríguez", "Los Copihues", "Lautaro", "Caupolicán", "Padre Hurtado"]
MAIL_DOMAIN = "{slug}.example.cl"  # reserved domain: generated people are never mailed


# --- small helpers ---------------------------------------------------------------------------

def zipf_weights(count: int, exponent: float = 1.0) -> list[float]:
    return [1 / (rank ** exponent) for rank in range(1, count + 1)]


def rut_check_digit(number: int) -> str:
    total, factor = 0, 2
    while number:
        total += (number % 10) * factor
        number //= 10
        factor = 2 if factor == 7 else factor + 1
    digit = 11 - total % 11
    return "0" if digit == 11 else "K" if digit == 10 else str(digit)


def _mix(value: int) -> int:
    """splitmix64: a citizen's fields are a pure function of (seed, index), so a repeat
    requester is rebuilt exactly without keeping millions of people in memory."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _stable_hash(text: str) -> int:
    value = 1469598103934665603
    for char in text.encode():
        value = ((value ^ char) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value


def folio_prefix_for(slug: str) -> str:
    letters = "".join(c for c in slug.upper() if "A" <= c <= "Z")[:8]
    return (letters + "XX")[: max(2, len(letters))]


@dataclass
class Person:
    name: str
    email: str
    phone: str
    rut: str | None


RUT_SPACE = 24_000_000  # numbers 1 000 000 … 24 999 999: a bijection of the citizen index


class People:
    """Citizen ``index`` → the same person every time (name, e-mail, phone, valid RUT)."""

    def __init__(self, seed: int, slug: str):
        self.seed = seed
        self.domain = MAIL_DOMAIN.format(slug=slug)
        self.rut_step = 7_368_787  # coprime with RUT_SPACE: index → number is one-to-one
        self.rut_offset = _stable_hash(f"{slug}:{seed}") % RUT_SPACE
        self.ascii_first = [_ascii(n).split()[0] for n in FIRST_NAMES]
        self.ascii_last = [_ascii(n) for n in LAST_NAMES]

    def __call__(self, index: int) -> Person:
        h = _mix(self.seed * 0x1000003 + index)
        first, last1, last2 = h % 50, (h >> 8) % 50, (h >> 16) % 50
        name = f"{FIRST_NAMES[first]} {LAST_NAMES[last1]} {LAST_NAMES[last2]}"
        email = f"{self.ascii_first[first]}.{self.ascii_last[last1]}{index}@{self.domain}"
        phone = f"+569{(h >> 24) % 100_000_000:08d}"
        rut = None
        if (h >> 56) % 100 < 80:
            number = 1_000_000 + (index * self.rut_step + self.rut_offset) % RUT_SPACE
            rut = f"{number}{rut_check_digit(number)}"
        return Person(name, email, phone, rut)


# --- catalog --------------------------------------------------------------------------------

@dataclass
class Catalog:
    institution: object
    types: list  # (TicketType, weight, targets, policy id)
    leaves: list  # (topic id, name, words, area id, program name)
    areas: list
    area_names: dict
    channels: dict  # code → Channel
    requester_types: list
    organizations: list  # (id, name, region, comuna)
    comunas: list  # (code, region, name)
    comuna_weights: list = field(default_factory=list)
    region_comunas: dict = field(default_factory=dict)


def build_catalog(slug: str, folio_prefix: str | None = None) -> Catalog:
    from django.db import transaction

    from ventanilla.catalog.models import (
        Area,
        Channel,
        Institution,
        Organization,
        RequesterType,
        TicketType,
        Topic,
        Workflow,
    )
    from ventanilla.core.models import Comuna
    from ventanilla.sla.models import SlaPolicy, Unit

    prefix = folio_prefix or folio_prefix_for(slug)
    if Institution.objects.filter(folio_prefix=prefix).exclude(slug=slug).exists():
        raise ValueError(f"folio prefix {prefix} is taken by another institution; pass one")
    with transaction.atomic():
        institution = Institution.objects.create(
            slug=slug, name=f"Institución generada ({slug})", short_name=prefix,
            folio_prefix=prefix, contact_email=f"oirs@{MAIL_DOMAIN.format(slug=slug)}")
        areas = [Area.objects.create(institution=institution, name=name, position=n)
                 for n, name in enumerate(AREAS)]
        types = []
        for position, (code, name, workflow, hours, weight) in enumerate(TYPES):
            ticket_type = TicketType.objects.create(
                institution=institution, code=code, name=name, workflow=workflow,
                target_hours=hours, position=position, requires_root_cause=code == "reclamo")
            ack, plan, final = SLA_TARGETS.get(
                code, SLA_TARGETS["type1"] if workflow == Workflow.INFORMATIVE else None)
            policy = SlaPolicy.objects.create(
                institution=institution, ticket_type=ticket_type, name=f"{name} (horas corridas)",
                ack_amount=ack, ack_unit=Unit.CALENDAR_HOURS, plan_amount=plan,
                plan_unit=Unit.CALENDAR_HOURS, final_amount=final,
                final_unit=Unit.CALENDAR_HOURS, at_risk_ratio=AT_RISK_RATIO)
            types.append((ticket_type, weight, (ack, plan, final), policy.pk))
        leaves = []
        for position, (program, area_index, products) in enumerate(TOPICS):
            parent = Topic.objects.create(institution=institution, name=program,
                                          position=position, default_area=areas[area_index])
            for child_position, (name, words) in enumerate(products):
                child = Topic.objects.create(
                    institution=institution, name=name, parent=parent, position=child_position,
                    default_area=areas[area_index], is_sensitive=name == "PAE Celiaco")
                leaves.append((child.pk, name, words, areas[area_index].pk, program))
        requester_types = [RequesterType.objects.create(institution=institution, name=name,
                                                        position=n).pk
                           for n, name in enumerate(["Apoderado", "Estudiante", "Encargado",
                                                     "Profesor", "Otro"])]
    comunas = list(Comuna.objects.order_by("code").values_list("code", "region_id", "name"))
    catalog = Catalog(institution=institution, types=types, leaves=leaves,
                      areas=[a.pk for a in areas], area_names={a.pk: a.name for a in areas},
                      channels={c.code: c for c in Channel.objects.filter(is_active=True)},
                      requester_types=requester_types, organizations=[], comunas=comunas)
    _weigh_territory(catalog, random.Random(_stable_hash(slug)))
    orgs = []
    org_rng = random.Random(_stable_hash(slug) + 1)
    for n in range(60):  # schools, placed where people are
        code, region, comuna_name = org_rng.choices(comunas, catalog.comuna_weights)[0]
        name = f"{org_rng.choice(SCHOOL_WORDS)} {org_rng.choice(SCHOOL_NAMES)} de {comuna_name}"
        orgs.append(Organization(institution=institution, name=name[:150], code=str(1000 + n),
                                 region_id=region, comuna_id=code))
    Organization.objects.bulk_create(orgs)
    catalog.organizations = [(o.pk, o.name, o.region_id, o.comuna_id) for o in
                             Organization.objects.filter(institution=institution).order_by("code")]
    return catalog


def _weigh_territory(catalog: Catalog, rng: random.Random) -> None:
    """Regions by population; inside a region, the capital (CUT xx101) first, then a skew."""
    by_region: dict[str, list] = {}
    for row in catalog.comunas:
        by_region.setdefault(row[1], []).append(row)
    weights = {}
    for region, rows in by_region.items():
        capital = [r for r in rows if r[0].endswith("101")]
        others = [r for r in rows if not r[0].endswith("101")]
        rng.shuffle(others)
        ordered = capital + others
        shares = zipf_weights(len(ordered), 0.9)
        total = sum(shares)
        for row, share in zip(ordered, shares, strict=True):
            weights[row[0]] = REGION_POPULATION.get(region, 1) * share / total
    catalog.comuna_weights = [weights[r[0]] for r in catalog.comunas]


def existing_catalog(slug: str) -> Catalog:
    """The catalog of an institution this module generated before (for --reuse benches)."""
    from ventanilla.catalog.models import (
        Area,
        Channel,
        Institution,
        Organization,
        RequesterType,
        TicketType,
        Topic,
    )
    from ventanilla.core.models import Comuna
    from ventanilla.sla.models import SlaPolicy

    institution = Institution.objects.get(slug=slug)
    areas = list(Area.objects.filter(institution=institution).order_by("position"))
    policies = {p.ticket_type_id: p for p in SlaPolicy.objects.filter(institution=institution)}
    weights = {code: weight for code, *_, weight in TYPES}
    types = [(t, weights.get(t.code, 1), (policies[t.pk].ack_amount, policies[t.pk].plan_amount,
                                           policies[t.pk].final_amount), policies[t.pk].pk)
             for t in TicketType.objects.filter(institution=institution).order_by("position")]
    leaves = [(t.pk, t.name, "", t.default_area_id, t.parent.name) for t in
              Topic.objects.filter(institution=institution, parent__isnull=False)
              .select_related("parent").order_by("parent__position", "position")]
    catalog = Catalog(
        institution=institution, types=types, leaves=leaves, areas=[a.pk for a in areas],
        area_names={a.pk: a.name for a in areas},
        channels={c.code: c for c in Channel.objects.filter(is_active=True)},
        requester_types=list(RequesterType.objects.filter(institution=institution)
                             .order_by("position").values_list("pk", flat=True)),
        organizations=list(Organization.objects.filter(institution=institution).order_by("code")
                           .values_list("pk", "name", "region_id", "comuna_id")),
        comunas=list(Comuna.objects.order_by("code").values_list("code", "region_id", "name")))
    _weigh_territory(catalog, random.Random(_stable_hash(slug)))
    return catalog


# --- the calendar of arrivals ---------------------------------------------------------------

def day_plan(tickets: int, first: date, last: date, spike: tuple[int, int]) -> list[int]:
    """Tickets per day: weekday, month and spike weights multiplied, rounded so the sum is exact."""
    days = (last - first).days + 1
    weights = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        weight = WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month - 1]
        if (day.year, day.month) == spike:
            weight *= SPIKE_FACTOR
        weights.append(weight)
    total = sum(weights)
    exact = [tickets * w / total for w in weights]
    counts = [int(x) for x in exact]
    missing = tickets - sum(counts)
    by_remainder = sorted(range(days), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[:missing]:
        counts[i] += 1
    return counts


# --- rows -----------------------------------------------------------------------------------

@dataclass
class Chunk:
    citizens: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    events: list = field(default_factory=list)  # rows without id; ticket given by index
    interactions: list = field(default_factory=list)


TICKET_COLUMNS = [
    "id", "institution_id", "folio", "public_id", "channel_id", "ticket_type_id", "topic_id",
    "requester_type_id", "organization_id", "region_id", "comuna_id", "urgency", "subject",
    "detail", "citizen_id", "contact_name", "contact_email", "contact_phone", "contact_rut",
    "reply_channel", "reply_address", "area_id", "status", "priority", "triage_status",
    "triage_confirmed_at", "stage", "root_cause", "corrective_action", "received_at",
    "sla_policy_id", "ack_due_at", "plan_due_at", "due_at", "acknowledged_at",
    "plan_answered_at", "final_answered_at", "first_answered_at", "next_due_at", "at_risk_at",
    "paused_at", "closed_at", "updated_at",
]
CITIZEN_COLUMNS = ["id", "rut", "full_name", "email", "phone", "created_at", "updated_at"]
EVENT_COLUMNS = ["id", "ticket_id", "kind", "created_at", "is_public", "body", "from_status",
                 "to_status", "data"]
INTERACTION_COLUMNS = ["id", "institution_id", "channel_id", "kind", "occurred_at",
                       "is_self_service", "citizen_id", "ticket_id", "data"]
ROOT_CAUSES = [
    ("El proveedor no despachó a tiempo por una falla en su ruta de reparto.",
     "Se aplicó una multa al proveedor y se agregó un vehículo de respaldo."),
    ("El establecimiento no tenía la nómina de beneficiarios actualizada.",
     "Se corrigió la nómina y se instruyó su revisión mensual."),
    ("Error en el registro de la postulación.",
     "Se corrigió el registro y se revisaron los casos similares de la comuna."),
    ("Falla del sistema de pagos durante el proceso masivo.",
     "Se reprocesaron los pagos y se reforzó el monitoreo del proceso."),
]
REPLIES = {
    "plan": "Su caso fue derivado al área responsable, que está revisando los antecedentes. "
            "Le informaremos las medidas adoptadas.",
    "final": "Revisamos su caso con el área responsable y le informamos la solución adoptada. "
             "Puede responder en la página de seguimiento si tiene dudas.",
    "type1": "Recibimos su comentario y lo hicimos llegar al área correspondiente.",
}


class Generator:
    """Draws every row from one ``random.Random(seed)`` in a fixed order."""

    def __init__(self, catalog: Catalog, *, seed: int, slug: str, tickets: int, years: float,
                 now: datetime, open_share: float | None, interactions_per_ticket: float,
                 events: bool):
        self.c = catalog
        self.rng = random.Random(seed)
        self.people = People(seed, slug)
        self.tickets = tickets
        self.now = now
        self.events_on = events
        self.interactions_per_ticket = max(1.0, interactions_per_ticket)
        self.open_share = open_share
        self.prefix = catalog.institution.folio_prefix
        self.institution_id = catalog.institution.pk
        last = now.astimezone(SANTIAGO).date()
        self.first = last - timedelta(days=max(1, round(365 * years)) - 1)
        spike_day = last - timedelta(days=min(240, (last - self.first).days // 2))
        self.spike = (spike_day.year, spike_day.month)
        self.plan = day_plan(tickets, self.first, last, self.spike)
        channel_weights = {"web": 46, "phone": 18, "email": 13, "in_person": 10, "whatsapp": 6,
                           "paper": 3, "social": 2, "chatbot": 1, "kiosk": 1}
        self.channel_codes = [c for c in channel_weights if c in catalog.channels]
        self.channel_cum = list(itertools.accumulate(channel_weights[c]
                                                     for c in self.channel_codes))
        self.type_cum = list(itertools.accumulate(w for _, w, _, _ in catalog.types))
        regular = [leaf for leaf in catalog.leaves if leaf[4] != SPIKE_PROGRAM]
        self.regular_leaves = regular[:]
        random.Random(seed + 1).shuffle(self.regular_leaves)  # popularity ≠ creation order
        self.leaf_cum = list(itertools.accumulate(zipf_weights(len(regular), 1.0)))
        self.spike_leaves = [leaf for leaf in catalog.leaves if leaf[4] == SPIKE_PROGRAM]
        self.comuna_cum = list(itertools.accumulate(catalog.comuna_weights))
        self.hour_cum = list(itertools.accumulate(HOUR_WEIGHTS))
        self.folio_counters: dict[int, int] = {}
        self.citizens_made = 0
        self.words_cache: dict[str, str] = {}

    # -- draws --
    def _pick(self, cumulative: list[float]) -> int:
        return bisect.bisect(cumulative, self.rng.random() * cumulative[-1])

    def _hours(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0, sigma))

    def arrivals(self) -> Iterator[datetime]:
        """Reception instants in order, following the day plan and the hour profile."""
        for offset, count in enumerate(self.plan):
            if not count:
                continue
            day = self.first + timedelta(days=offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=SANTIAGO)
            stamps = sorted(
                (self._pick(self.hour_cum) * 3600 + self.rng.random() * 3600)
                for _ in range(count))
            for seconds in stamps:
                moment = (midnight + timedelta(seconds=seconds)).astimezone(UTC)
                yield min(moment, self.now - timedelta(seconds=1))

    def chunks(self, ticket_ids: Iterator[int], citizen_base: int) -> Iterator[Chunk]:
        chunk = Chunk()
        for received in self.arrivals():
            self._ticket(chunk, next(ticket_ids), received, citizen_base)
            if len(chunk.tickets) >= CHUNK:
                yield chunk
                chunk = Chunk()
        if chunk.tickets:
            yield chunk

    def _citizen(self, chunk: Chunk, citizen_base: int, received: datetime) -> tuple[int, Person]:
        rng = self.rng
        if self.citizens_made and rng.random() < REPEAT_REQUESTER_SHARE:
            # Repeat requesters: recent people more often than old ones.
            back = min(self.citizens_made - 1, int(rng.expovariate(1 / 2000)))
            index = self.citizens_made - 1 - back
            return citizen_base + index, self.people(index)
        index = self.citizens_made
        self.citizens_made += 1
        person = self.people(index)
        chunk.citizens.append((citizen_base + index, person.rut, person.name, person.email,
                               person.phone, received, received))
        return citizen_base + index, person

    def _ticket(self, chunk: Chunk, ticket_id: int, received: datetime,
                citizen_base: int) -> None:
        rng, c, now = self.rng, self.c, self.now
        channel = c.channels[self.channel_codes[self._pick(self.channel_cum)]]
        local = received.astimezone(SANTIAGO)
        ticket_type, _weight, (ack_h, plan_h, final_h), policy_id = c.types[
            self._pick(self.type_cum)]
        code = ticket_type.code
        if self.spike_leaves and (local.year, local.month) == self.spike and (
                rng.random() < SPIKE_TOPIC_SHARE):
            leaf = self.spike_leaves[rng.randrange(len(self.spike_leaves))]
        else:
            leaf = self.regular_leaves[self._pick(self.leaf_cum)]
        topic_id, topic_name, words, default_area, _program = leaf
        citizen_id, person = self._citizen(chunk, citizen_base, received)
        region = comuna = organization = None
        comuna_name = "su comuna"
        if rng.random() >= NO_TERRITORY_SHARE:
            if c.organizations and rng.random() < 0.25:
                organization, org_name, region, comuna = c.organizations[
                    rng.randrange(len(c.organizations))]
            else:
                comuna, region, comuna_name = c.comunas[self._pick(self.comuna_cum)]
                org_name = f"el establecimiento de {comuna_name}"
        else:
            org_name = "el establecimiento"
        if organization is not None:
            comuna_name = org_name.rsplit(" de ", 1)[-1]
        urgency = ("low", "medium", "high")[self._pick([25, 85, 100])]
        priority = "high" if rng.random() < 0.03 else urgency
        subject, detail = self._texts(code, topic_name, words, org_name, comuna_name)
        year = local.year
        number = self.folio_counters.get(year, 0) + 1
        self.folio_counters[year] = number
        folio = f"{self.prefix}-{year}-{number:06d}"
        public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        code_ch = channel.code
        email = person.email if (code_ch not in ASSISTED_CODES or rng.random() < 0.55) else ""
        phone = person.phone if code_ch in ("phone", "whatsapp") or rng.random() < 0.5 else ""
        rut = (person.rut or "") if (code_ch in ASSISTED_CODES or rng.random() < 0.7) else ""
        reply_channel = reply_address = ""
        if code_ch == "whatsapp":
            reply_channel, reply_address = "whatsapp", person.phone.lstrip("+")
        requester = (c.requester_types[self._pick([42, 70, 82, 92, 100])]
                     if c.requester_types and rng.random() < 0.85 else None)

        area = default_area
        derived_area = None
        if rng.random() < DERIVED_SHARE:
            derived_area = c.areas[rng.randrange(len(c.areas))]
        ack_due = received + timedelta(hours=ack_h) if ack_h is not None else None
        plan_due = received + timedelta(hours=float(plan_h)) if plan_h is not None else None
        due = received + timedelta(hours=float(final_h))
        age_h = (now - received).total_seconds() / 3600
        events = chunk.events
        index = len(chunk.tickets)
        if self.events_on:
            events.append((index, "created", received, True,
                           f"Requerimiento recibido por el canal {channel.name}.", "", "new",
                           json.dumps({"channel": code_ch, "area_id": area,
                                       "routing_rule": None})))
        triage_status, triage_at = "not_required", None
        root_cause = corrective = ""
        paused_at = None
        if ticket_type.workflow == "type1":
            status, stage = "closed", "done"
            acknowledged = first_answered = final_answered = closed = received
            plan_answered = None
            if self.events_on:
                events.append((index, "reply", received, True, REPLIES["type1"], "", "",
                               '{"automatic": true, "stage": "final"}'))
                events.append((index, "status_changed", received, True,
                               "Cerrado automáticamente con la respuesta de la plantilla.",
                               "new", "closed", "{}"))
            updated = received
        else:
            acknowledged = received
            triage_h = self._hours(5, 1.2)
            start_h = triage_h + rng.expovariate(1 / 4)
            plan_at_h = max(self._hours(30, 0.6), start_h + 0.5) if plan_h is not None else None
            final_median = {"reclamo": 130, "consulta": 70}.get(code, 300)
            final_at_h = max(self._hours(final_median, 0.7), (plan_at_h or start_h) + 1)
            if rng.random() < 0.04:
                final_at_h *= 15  # the long tail: cases that stay open for months
            pause = None
            if rng.random() < 0.05:
                pause_start = (plan_at_h or start_h) + rng.expovariate(1 / 24)
                pause = (pause_start, rng.expovariate(1 / 72))
                final_at_h = max(final_at_h, pause_start + pause[1] + 1)
            if self.open_share is not None:
                # Force the requested open share: a ticket open now is one whose final answer
                # lies in the future; the stage it reached follows its own draws.
                if rng.random() < self.open_share:
                    final_at_h = max(final_at_h, age_h + 1 + rng.expovariate(1 / 48))
                else:
                    final_at_h = min(final_at_h, max(age_h - 0.01, 0.001))
                    # Earlier stages keep their draws but must precede the closure.
                    triage_h = min(triage_h, final_at_h * 0.2)
                    start_h = min(start_h, final_at_h * 0.4)
                    plan_at_h = min(plan_at_h, final_at_h * 0.7) if plan_at_h else None
                    if pause and pause[0] + pause[1] >= final_at_h:
                        pause = None

            def at(hours: float) -> datetime:
                return received + timedelta(hours=hours)

            if triage_h <= age_h:
                triage_status, triage_at = "confirmed", at(triage_h)
                if derived_area is not None and derived_area != default_area:
                    area = derived_area
                    if self.events_on:
                        events.append((index, "area_changed", triage_at, False,
                                       "Corresponde al área según el tema informado.", "", "",
                                       json.dumps({"from_area": c.area_names[default_area],
                                                   "to_area": c.area_names[area]},
                                                  ensure_ascii=False)))
                if self.events_on:
                    events.append((index, "triage_confirmed", triage_at, False, "", "", "",
                                   json.dumps({"area_id": area})))
            else:
                triage_status = "pending"
            status = "new"
            if start_h <= age_h and triage_status == "confirmed":
                status = "in_progress"
                if self.events_on:
                    events.append((index, "status_changed", at(start_h), True, "", "new",
                                   "in_progress", "{}"))
            plan_answered = at(plan_at_h) if plan_at_h is not None and plan_at_h <= age_h \
                else None
            if plan_answered and self.events_on:
                events.append((index, "reply", plan_answered, True, REPLIES["plan"], "", "",
                               '{"stage": "plan"}'))
            updated = (plan_answered or (at(start_h) if status == "in_progress" else None)
                       or triage_at or received)
            if pause is not None and pause[0] <= age_h:
                pause_at = at(pause[0])
                if self.events_on:
                    events.append((index, "sla_paused", pause_at, True, "", status,
                                   "waiting_citizen", "{}"))
                if pause[0] + pause[1] <= age_h:
                    due = due + timedelta(hours=pause[1])  # sla_resume moves the deadline
                    if self.events_on:
                        events.append((index, "sla_resumed", at(pause[0] + pause[1]), True,
                                       "", "waiting_citizen", "in_progress", "{}"))
                    status = "in_progress"
                    updated = at(pause[0] + pause[1])
                else:
                    status, paused_at, updated = "waiting_citizen", pause_at, pause_at
            final_answered = closed = None
            if final_at_h <= age_h:
                final_answered = closed = at(final_at_h)
                status, stage = "closed", "done"
                if self.events_on:
                    events.append((index, "reply", closed, True, REPLIES["final"], "", "",
                                   '{"stage": "final"}'))
                    events.append((index, "status_changed", closed, True, "", "in_progress",
                                   "closed", "{}"))
                if code == "reclamo":
                    root_cause, corrective = ROOT_CAUSES[rng.randrange(len(ROOT_CAUSES))]
                updated = closed
            else:
                stage = "plan" if plan_due is not None and plan_answered is None else "final"
            first_answered = plan_answered or final_answered
        if ticket_type.workflow == "type1" or final_answered is not None:
            next_due = at_risk = None
        else:
            next_due = plan_due if (plan_due is not None and plan_answered is None) else due
            at_risk = received + (next_due - received) * AT_RISK_RATIO
        chunk.tickets.append([
            ticket_id, self.institution_id, folio, public_id, channel.pk, ticket_type.pk,
            topic_id, requester, organization, region, comuna, urgency, subject, detail,
            citizen_id, person.name, email, phone, rut, reply_channel, reply_address, area,
            status, priority, triage_status, triage_at, stage, root_cause, corrective, received,
            policy_id, ack_due, plan_due, due, acknowledged, plan_answered, final_answered,
            first_answered, next_due, at_risk, paused_at, closed, updated,
        ])
        self._interactions(chunk, channel, received, citizen_id, ticket_id)

    def _texts(self, code: str, topic: str, words: str, org: str, comuna: str) -> tuple[str, str]:
        rng = self.rng
        subjects = SUBJECTS.get(code, SUBJECTS["consulta"])
        subject = subjects[rng.randrange(len(subjects))].format(topic=topic, comuna=comuna)
        subject = subject[0].upper() + subject[1:]
        chosen = " ".join(w for w in (words or topic).split() if rng.random() < 0.7) or topic
        parts = [OPENINGS.get(code, OPENINGS["consulta"]).format(words=chosen, org=org,
                                                                 comuna=comuna)]
        for _ in range(1 + rng.randrange(3)):
            parts.append(SENTENCES[rng.randrange(len(SENTENCES))].format(
                nombre=STUDENT_NAMES[rng.randrange(len(STUDENT_NAMES))],
                curso=COURSES[rng.randrange(len(COURSES))],
                dia=WEEKDAYS[rng.randrange(len(WEEKDAYS))]))
        return subject[:200], " ".join(parts)

    def _interactions(self, chunk: Chunk, channel, received: datetime, citizen_id: int,
                      ticket_id: int) -> None:
        """The intake's own ``ticket_opened`` row, then tracking visits of this ticket and
        contacts that opened no ticket (self-service, or solved on the spot) that day."""
        rng, c = self.rng, self.c
        rows = chunk.interactions
        rows.append((self.institution_id, channel.pk, "ticket_opened", received,
                     not channel.is_assisted, citizen_id, ticket_id))
        extra = self.interactions_per_ticket - 1
        count = int(extra) + (1 if rng.random() < extra - int(extra) else 0)
        horizon = max((self.now - received).total_seconds(), 1.0)
        for _ in range(count):
            kind_draw = rng.random()
            if kind_draw < 0.4:
                web = c.channels.get("web", channel)
                moment = received + timedelta(seconds=min(rng.expovariate(1 / 259_200),
                                                          horizon - 1))
                rows.append((self.institution_id, web.pk, "tracking", moment, True, citizen_id,
                             ticket_id))
                continue
            moment = received + timedelta(seconds=rng.uniform(-43_200, 43_200))
            moment = min(moment, self.now - timedelta(seconds=1))
            if kind_draw < 0.85:
                codes = [x for x in SELF_SERVICE_CODES if x in c.channels]
                other = c.channels[codes[rng.randrange(len(codes))]]
                kind = "self_service" if kind_draw < 0.7 else "tracking"
                rows.append((self.institution_id, other.pk, kind, moment, True, None, None))
            else:
                codes = [x for x in ATTENDED_CODES if x in c.channels]
                other = c.channels[codes[rng.randrange(len(codes))]]
                rows.append((self.institution_id, other.pk, "attended", moment, False,
                             citizen_id if rng.random() < 0.5 else None, None))


# --- writing --------------------------------------------------------------------------------

def _reserve_ids(model, count: int) -> int:
    """First id of a block of ``count`` ids nobody else will get (the sequence moves past)."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            # One statement: the block is taken atomically with respect to other nextval()s
            # that see the advanced value; concurrent inserts during the call are the only
            # race, and benchmark databases have none.
            cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)",
                           [sequence, sequence, max(count, 1)])
            return cursor.fetchone()[0] - max(count, 1) + 1
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        return cursor.fetchone()[0] + 1


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


class Writer:
    def __init__(self):
        from django.db import connection

        from ventanilla.citizens.models import Citizen
        from ventanilla.tickets.models import Interaction, Ticket, TicketEvent

        self.connection = connection
        self.models = {"citizen": Citizen, "ticket": Ticket, "event": TicketEvent,
                       "interaction": Interaction}
        self.postgres = connection.vendor == "postgresql"
        self.counts = {"citizens": 0, "tickets": 0, "events": 0, "interactions": 0}

    def write(self, chunk: Chunk) -> None:
        from django.db import transaction

        if len(chunk.tickets[0]) != len(TICKET_COLUMNS):  # a column added to the generator
            raise AssertionError("ticket row and TICKET_COLUMNS differ")
        event_base = _reserve_ids(self.models["event"], len(chunk.events))
        interaction_base = _reserve_ids(self.models["interaction"], len(chunk.interactions))
        tickets = chunk.tickets
        events = [(event_base + n, tickets[row[0]][0], *row[1:])
                  for n, row in enumerate(chunk.events)]
        interactions = [(interaction_base + n, *row, "{}")
                        for n, row in enumerate(chunk.interactions)]
        with transaction.atomic():
            if self.postgres:
                with self.connection.cursor() as django_cursor:
                    cursor = django_cursor.cursor
                    for name, columns, rows in (("citizen", CITIZEN_COLUMNS, chunk.citizens),
                                                ("ticket", TICKET_COLUMNS, tickets),
                                                ("event", EVENT_COLUMNS, events),
                                                ("interaction", INTERACTION_COLUMNS,
                                                 interactions)):
                        _copy(cursor, self.models[name]._meta.db_table, columns, rows)
            else:
                self._bulk("citizen", CITIZEN_COLUMNS, chunk.citizens)
                self._bulk("ticket", TICKET_COLUMNS, tickets)
                self._bulk("event", EVENT_COLUMNS, events)
                self._bulk("interaction", INTERACTION_COLUMNS, interactions)
        self.counts["citizens"] += len(chunk.citizens)
        self.counts["tickets"] += len(tickets)
        self.counts["events"] += len(events)
        self.counts["interactions"] += len(interactions)

    def _bulk(self, name: str, columns: list[str], rows) -> None:
        model = self.models[name]
        objects = []
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            if "data" in values:
                values["data"] = json.loads(values["data"])
            objects.append(model(**values))
        # auto_now / auto_now_add would overwrite the generated timestamps: keep ours.
        stamps = [(f, f.auto_now, f.auto_now_add) for f in model._meta.concrete_fields
                  if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        for f, _now, _add in stamps:
            f.auto_now = f.auto_now_add = False
        try:
            model.objects.bulk_create(objects, batch_size=500)
        finally:
            for f, auto_now, auto_now_add in stamps:
                f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _write_folio_counters(institution, counters: dict[int, int]) -> None:
    from ventanilla.tickets.models import FolioCounter

    for year, last_value in counters.items():
        FolioCounter.objects.update_or_create(institution=institution, year=year,
                                              defaults={"last_value": last_value})


# --- public API -----------------------------------------------------------------------------

def generate(*, tickets: int, seed: int, institution_slug: str, years: float = 3,
             open_share: float | None = None, interactions_per_ticket: float = 3.0,
             events: bool = True, end: date | None = None, folio_prefix: str | None = None,
             analyze: bool = True, progress: bool = False) -> dict:
    """Create the institution ``institution_slug`` and ``tickets`` tickets. Returns counts,
    seconds and rows per second. ``end``: last day of reception (default: now, so open
    tickets' deadlines are live); ``open_share``: force that share of Type 2 tickets open
    (default: whatever age gives, ~2-4 % of three years)."""
    from django.db import connection

    from ventanilla.citizens.models import Citizen
    from ventanilla.tickets.models import Ticket

    if tickets < 1:
        raise ValueError("tickets must be positive")
    started = time.perf_counter()
    if end is None:
        now = datetime.now(UTC).replace(microsecond=0)
    else:
        now = datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=SANTIAGO).astimezone(UTC)
    catalog = build_catalog(institution_slug, folio_prefix)
    generator = Generator(catalog, seed=seed, slug=institution_slug, tickets=tickets,
                          years=years, now=now, open_share=open_share,
                          interactions_per_ticket=interactions_per_ticket, events=events)
    ticket_ids = itertools.count(_reserve_ids(Ticket, tickets))
    citizen_base = _reserve_ids(Citizen, tickets)
    writer = Writer()
    for chunk in generator.chunks(ticket_ids, citizen_base):
        writer.write(chunk)
        if progress:
            done = writer.counts["tickets"]
            elapsed = time.perf_counter() - started
            print(f"  {done:,}/{tickets:,} tickets, {elapsed:.0f} s, "
                  f"{sum(writer.counts.values()) / elapsed:,.0f} rows/s", file=sys.stderr)
    _write_folio_counters(catalog.institution, generator.folio_counters)
    load_seconds = time.perf_counter() - started
    if analyze and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in Writer().models.values():
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    seconds = time.perf_counter() - started
    rows = sum(writer.counts.values())
    return {
        "institution": institution_slug, "institution_id": catalog.institution.pk,
        "seed": seed, "years": years, "first_day": generator.first.isoformat(),
        "now": now.isoformat(), "spike_month": f"{generator.spike[0]:04d}-{generator.spike[1]:02d}",
        **writer.counts, "rows": rows, "load_seconds": round(load_seconds, 1),
        "seconds": round(seconds, 1), "rows_per_second": round(rows / load_seconds),
        "tickets_per_second": round(writer.counts["tickets"] / load_seconds),
    }


def _delete_dependents(cursor, model, where: str, params: list, depth: int = 0) -> None:
    """Delete every row that references ``model`` rows matching ``where`` (recursively),
    in SQL: Django's collector would load millions of objects into memory."""
    from django.db import models as dj

    if depth > 4:
        return
    table = model._meta.db_table
    for relation in model._meta.related_objects:
        if relation.many_to_many or not relation.field.concrete:
            continue
        related = relation.related_model
        column = relation.field.column
        related_table = related._meta.db_table
        subquery = f'SELECT id FROM "{table}" WHERE {where}'
        if relation.on_delete is dj.SET_NULL and related is not model:
            cursor.execute(f'UPDATE "{related_table}" SET "{column}" = NULL '
                           f'WHERE "{column}" IN ({subquery})', params)
            continue
        if related is model:  # self references (merged_into): clear first
            cursor.execute(f'UPDATE "{related_table}" SET "{column}" = NULL '
                           f'WHERE "{column}" IN ({subquery})', params)
            continue
        inner = f'"{column}" IN ({subquery})'
        _delete_dependents(cursor, related, inner, params, depth + 1)
        cursor.execute(f'DELETE FROM "{related_table}" WHERE {inner}', params)


def drop(institution_slug: str) -> bool:
    """Remove a generated institution and everything hanging from it (tickets, their events
    and interactions, the people it created, rollups, catalogs). False if it did not exist."""
    from django.db import connection, transaction

    from ventanilla.catalog.models import Institution, Topic
    from ventanilla.citizens.models import Citizen
    from ventanilla.tickets.models import Interaction, Ticket

    institution = Institution.objects.filter(slug=institution_slug).first()
    if institution is None:
        return False
    domain = "%@" + MAIL_DOMAIN.format(slug=institution_slug)
    with transaction.atomic(), connection.cursor() as cursor:
        ticket_table = Ticket._meta.db_table
        _delete_dependents(cursor, Ticket, '"institution_id" = %s', [institution.pk])
        cursor.execute(f'DELETE FROM "{ticket_table}" WHERE "institution_id" = %s',
                       [institution.pk])
        cursor.execute(f'DELETE FROM "{Interaction._meta.db_table}" '
                       'WHERE "institution_id" = %s', [institution.pk])
        citizen_where = '"email" LIKE %s'
        _delete_dependents(cursor, Citizen, citizen_where, [domain])
        cursor.execute(f'DELETE FROM "{Citizen._meta.db_table}" WHERE {citizen_where}',
                       [domain])
        # Everything else hangs from the institution (catalogs, policies, rollups): few rows
        # each except the rollups, which Django deletes in one statement per table.
        Topic.objects.filter(institution=institution, parent__isnull=False).delete()
        institution.delete()
    return True


# --- CLI ------------------------------------------------------------------------------------

def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ventanilla.settings")
    import django

    django.setup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slug", default="bench-generated")
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--open-share", type=float, default=None)
    parser.add_argument("--interactions-per-ticket", type=float, default=3.0)
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--end", type=date.fromisoformat, default=None)
    parser.add_argument("--migrate", action="store_true", help="Migrate the database first.")
    parser.add_argument("--replace", action="store_true",
                        help="Drop the institution first if it exists.")
    parser.add_argument("--drop", action="store_true", help="Only drop the institution.")
    args = parser.parse_args(argv)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    if args.migrate:
        call_command("migrate", verbosity=0)
    if args.drop or args.replace:
        started = time.perf_counter()
        dropped = drop(args.slug)
        print(f"drop {args.slug}: {dropped} ({time.perf_counter() - started:.1f} s)",
              file=sys.stderr)
        if args.drop:
            return
    stats = generate(tickets=args.tickets, seed=args.seed, institution_slug=args.slug,
                     years=args.years, open_share=args.open_share,
                     interactions_per_ticket=args.interactions_per_ticket,
                     events=not args.no_events, end=args.end, progress=True)
    print(json.dumps({"benchmark": "generate", "database": connection.vendor, **stats},
                     indent=2))


if __name__ == "__main__":
    main()
