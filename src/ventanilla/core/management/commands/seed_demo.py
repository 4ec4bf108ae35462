"""``python -m ventanilla seed_demo``: a demo installation that looks like a year of work.

Creates JUNAEB (full catalog, ~40 schools, one account per role) and a smaller JUNJI,
then replays a year of requests through the real ticket services (``ticket_open`` and
the answer, note, derive and status services), so every ticket has the timeline, audit
rows and counters a real one would have. Idempotent: every catalog entry is looked up
before it is created and every demo ticket carries an idempotency key, so a second run
creates nothing. The e-mails of these historic tickets are cancelled in the outbox, so
starting the worker does not send (or log) hundreds of old messages.

Deterministic: each ticket draws from its own random generator seeded with its number.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import django.utils.timezone as dj_timezone
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cl import rut as stdnum_rut

from ventanilla.accounts.models import Membership, Role, User
from ventanilla.api.demo import seed_api_demo
from ventanilla.catalog.models import (
    Area,
    Channel,
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)
from ventanilla.channels.demo import seed_channels_demo
from ventanilla.citizens.services import ContactData, citizen_link_verified_user
from ventanilla.core import demo
from ventanilla.core.management import demo_data as data
from ventanilla.core.models import Comuna
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import outbox_cancel
from ventanilla.routing.demo import seed_routing_demo
from ventanilla.routing.services import triage_confirm
from ventanilla.sla.demo import seed_sla_demo
from ventanilla.surveys.demo import seed_surveys_demo
from ventanilla.tickets.models import ResponseStage, Status, Ticket, TicketAnswer, Urgency
from ventanilla.tickets.services import (
    TicketDraft,
    answer_draft,
    answer_review,
    answer_send,
    answer_submit,
    ticket_add_citizen_message,
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_open,
    ticket_reply,
)

SANTIAGO = ZoneInfo("America/Santiago")
SEED = 2026
CHANNEL_WEIGHTS = {"web": 46, "phone": 18, "email": 13, "in_person": 10, "whatsapp": 6,
                   "paper": 3, "social": 2, "chatbot": 1, "kiosk": 1}
TYPE_WEIGHTS = {"reclamo": 45, "consulta": 35, "ley-20285": 6, "sugerencia": 8, "felicitacion": 6}
JUNJI_TYPE_WEIGHTS = {"reclamo": 45, "consulta": 45, "sugerencia": 10}
URGENCY_WEIGHTS = {Urgency.LOW: 25, Urgency.MEDIUM: 60, Urgency.HIGH: 15}
REQUESTER_WEIGHTS = {"Apoderado": 42, "Estudiante": 28, "Encargado": 12, "Profesor": 10,
                     "Otro": 8}
ASSISTED_CHANNELS = {"phone", "in_person", "paper"}
# Topics whose requests name a school most of the time.
SCHOOL_TOPICS = {"pae", "pae_kinder", "pae_basica", "pae_celiaco", "pae_biometrico", "canastas",
                 "sala_cuna", "alimentacion_jardin", "jardines", "matricula"}
PEOPLE = 220
CITIZEN_TICKETS = 3


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join(plain.lower().split())


def valid_rut(rng: random.Random) -> str:
    number = str(rng.randint(5_000_000, 26_000_000))
    return number + stdnum_rut.calc_check_digit(number)


_RealDatetime = dj_timezone.datetime


class _AnyDatetime(type):
    # isinstance() checks inside django.utils.timezone must keep accepting real datetimes.
    def __instancecheck__(cls, obj):
        return isinstance(obj, _RealDatetime)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, _RealDatetime)


@contextmanager
def simulated_clock(start: datetime) -> Iterator[Callable[[datetime], None]]:
    """Make ``django.utils.timezone.now()`` return a moment of the past while a ticket's
    history is replayed, so the services stamp the timeline, audit rows and answer times
    as they would have happened. Yields a function that moves the clock."""
    state = {"now": start}

    class SimulatedDatetime(_RealDatetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz=None):
            moment = state["now"]
            return moment.astimezone(tz) if tz else moment.astimezone(UTC).replace(tzinfo=None)

    def move_to(moment: datetime) -> None:
        state["now"] = moment

    dj_timezone.datetime = SimulatedDatetime
    try:
        yield move_to
    finally:
        dj_timezone.datetime = _RealDatetime


class Command(BaseCommand):
    help = "Load demo institutions, staff accounts and a year of realistic tickets (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=300,
                            help="How many JUNAEB tickets to create (default 300); JUNJI gets "
                                 "one tenth of that.")

    def handle(self, *args, tickets: int = 300, **options):
        if tickets < 0:
            raise CommandError(_("--tickets debe ser cero o más."))
        self.created: Counter = Counter()
        self.now = timezone.now()
        with transaction.atomic():
            junaeb = self._institution(data.JUNAEB, data.JUNAEB_TYPES, data.JUNAEB_REQUESTER_TYPES,
                                       data.JUNAEB_AREAS, data.JUNAEB_TOPICS, data.JUNAEB_SCHOOLS)
            junji = self._institution(data.JUNJI, data.JUNJI_TYPES, data.JUNJI_REQUESTER_TYPES,
                                      data.JUNJI_AREAS, data.JUNJI_TOPICS, data.JUNJI_SCHOOLS)
            self.actors = self._staff(junaeb, junji)
            citizen_user = self._citizen_account()
            # Workflow configuration: answers on celiac meals need a supervisor's approval;
            # routing rules and deadlines (both idempotent).
            Topic.objects.filter(institution=junaeb, name=data.SENSITIVE_TOPIC).update(
                is_sensitive=True)
            seed_routing_demo(junaeb)
            seed_api_demo(junaeb)
            for number, institution in enumerate((junaeb, junji), start=1):
                seed_sla_demo(institution)
                seed_channels_demo(institution, number)
                seed_surveys_demo(institution)
        self.channels = {c.code: c for c in Channel.objects.filter(code__in=CHANNEL_WEIGHTS)}
        self.comunas = list(Comuna.objects.select_related("region").order_by("code"))
        self.people = self._people()

        self._tickets(junaeb, "junaeb", tickets, data.TEXTS, TYPE_WEIGHTS)
        self._tickets(junji, "junji", tickets // 10, data.JUNJI_TEXTS, JUNJI_TYPE_WEIGHTS)
        self._citizen_tickets(junaeb, citizen_user)

        if not sum(self.created.values()):
            self.stdout.write(_("Los datos de demostración ya estaban cargados: no se creó nada."))
            return
        summary = ", ".join(f"{name}: {count}" for name, count in sorted(self.created.items()))
        self.stdout.write(self.style.SUCCESS(_("Datos de demostración creados (%(summary)s).")
                                             % {"summary": summary}))
        self.stdout.write(_("Contraseña de todas las cuentas de demostración: %(password)s")
                          % {"password": demo.DEMO_PASSWORD})
        self.stdout.write(_("El supervisor y el administrador del sistema activan una "
                            "aplicación autenticadora (TOTP) en su primer ingreso."))

    # --- catalog ------------------------------------------------------------------------

    def _get_or_create(self, model, defaults=None, **lookup):
        obj, created = model.objects.get_or_create(**lookup, defaults=defaults or {})
        if created:
            self.created[model._meta.verbose_name_plural] += 1
        return obj

    def _institution(self, spec, types, requester_types, areas, topics, schools) -> Institution:
        institution = self._get_or_create(
            Institution, slug=spec["slug"],
            defaults={key: value for key, value in spec.items() if key != "slug"},
        )
        for position, (code, name, workflow, hours, description) in enumerate(types):
            self._get_or_create(TicketType, institution=institution, code=code, defaults={
                "name": name, "workflow": workflow, "target_hours": hours,
                "description": description, "position": position,
                # Complaints do not close without root cause and corrective action.
                "requires_root_cause": code == "reclamo"})
        for position, name in enumerate(requester_types):
            self._get_or_create(RequesterType, institution=institution, name=name,
                                defaults={"position": position})
        area_by_name = {
            name: self._get_or_create(Area, institution=institution, name=name,
                                      defaults={"position": position})
            for position, name in enumerate(areas)
        }
        topic_by_key: dict[str, Topic] = {}
        for position, (key, name, parent_key, area_name) in enumerate(topics):
            topic_by_key[key] = self._get_or_create(
                Topic, institution=institution, name=name,
                parent=topic_by_key[parent_key] if parent_key else None,
                defaults={"default_area": area_by_name[area_name], "position": position},
            )
        for name, comuna_name, code in schools:
            comuna = Comuna.objects.select_related("region").get(name=comuna_name)
            self._get_or_create(Organization, institution=institution, code=code, defaults={
                "name": name, "comuna": comuna, "region": comuna.region})
        return institution

    def _user(self, email: str, first_name: str, last_name: str, **extra) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=demo.DEMO_PASSWORD,
                                            first_name=first_name, last_name=last_name, **extra)
            self.created[User._meta.verbose_name_plural] += 1
        return user

    def _member(self, user: User, institution: Institution, role: str, areas=()) -> User:
        membership, created = Membership.objects.get_or_create(
            user=user, institution=institution, defaults={"role": role})
        if created:
            membership.areas.set(areas)
            self.created[Membership._meta.verbose_name_plural] += 1
        return user

    def _staff(self, junaeb: Institution, junji: Institution) -> dict[str, User]:
        pae = Area.objects.get(institution=junaeb, name=data.AREA_PAE)
        return {
            "operator": self._member(self._user(demo.OPERATOR_EMAIL, "Olga", "Vidal"),
                                     junaeb, Role.OPERATOR),
            "triage": self._member(self._user(demo.TRIAGE_EMAIL, "Claudio", "Navarrete"),
                                   junaeb, Role.TRIAGE),
            "responder": self._member(self._user(demo.RESPONDER_EMAIL, "Patricia", "Leiva"),
                                      junaeb, Role.RESPONDER, areas=[pae]),
            "supervisor": self._member(self._user(demo.SUPERVISOR_EMAIL, "Sergio", "Orellana"),
                                       junaeb, Role.SUPERVISOR),
            "auditor": self._member(self._user(demo.AUDITOR_EMAIL, "Andrea", "Quiroz"),
                                    junaeb, Role.AUDITOR),
            "admin": self._member(
                self._user(demo.SYSADMIN_EMAIL, "Alejandro", "Bravo", is_staff=True,
                           is_superuser=True),
                junaeb, Role.SYSADMIN),
            "junji": self._member(self._user(demo.JUNJI_TRIAGE_EMAIL, "Carmen", "Ulloa"),
                                  junji, Role.TRIAGE),
        }

    def _citizen_account(self) -> User:
        user = self._user(demo.CITIZEN_EMAIL, "Carolina", "Fuentes Araya",
                          email_verified_at=self.now)
        citizen_link_verified_user(user=user)  # idempotent: links once
        return user

    def _people(self) -> list[ContactData]:
        rng = random.Random(f"{SEED}-people")
        people = []
        for index in range(PEOPLE):
            first = rng.choice(data.FIRST_NAMES)
            last = f"{rng.choice(data.LAST_NAMES)} {rng.choice(data.LAST_NAMES)}"
            email = f"{ascii_slug(first)}.{ascii_slug(last.split()[0])}{index}@example.cl"
            phone = f"+56 9 {rng.randint(2000, 9999)} {rng.randint(1000, 9999)}"
            people.append(ContactData(
                full_name=f"{first} {last}",
                email=email if rng.random() < 0.88 else "",
                phone=phone if rng.random() < 0.7 else "",
                rut=valid_rut(rng) if rng.random() < 0.45 else "",
            ))
        return people

    # --- tickets ------------------------------------------------------------------------

    def _tickets(self, institution, prefix, count, texts, type_weights) -> None:
        types = {t.code: t for t in TicketType.objects.filter(institution=institution)}
        topics = {t.name: t for t in Topic.objects.filter(institution=institution)}
        topic_names = {key: name for key, name, _p, _a in
                       (data.JUNAEB_TOPICS if prefix == "junaeb" else data.JUNJI_TOPICS)}
        requester_types = {r.name: r for r in RequesterType.objects.filter(institution=institution)}
        organizations = list(Organization.objects.filter(institution=institution)
                             .select_related("region", "comuna").order_by("code"))
        existing = set(Ticket.objects.filter(institution=institution,
                                             idempotency_key__startswith=f"demo-{prefix}-")
                       .values_list("idempotency_key", flat=True))
        for number in range(1, count + 1):
            key = f"demo-{prefix}-{number:05d}"
            if key in existing:
                continue
            rng = random.Random(f"{SEED}-{key}")
            type_code = weighted(rng, type_weights)
            topic_key, subject, detail = rng.choice(texts[type_code])
            names_school = topic_key in SCHOOL_TOPICS and rng.random() < 0.9
            organization = (rng.choice(organizations)
                            if names_school or rng.random() < 0.4 else None)
            comuna = organization.comuna if organization else rng.choice(self.comunas)
            requester = requester_types.get(weighted(rng, REQUESTER_WEIGHTS))
            channel = self.channels[weighted(rng, CHANNEL_WEIGHTS)]
            fill = {"org": organization.name if organization else _("el establecimiento"),
                    "comuna": comuna.name, "dia": rng.choice(data.WEEKDAYS),
                    "nombre": rng.choice(data.STUDENT_NAMES)}
            draft = TicketDraft(
                institution=institution, channel=channel, ticket_type=types[type_code],
                topic=topics[topic_names[topic_key]], subject=subject.format(**fill)[:200],
                detail=detail.format(**fill), contact=rng.choice(self.people),
                urgency=weighted(rng, URGENCY_WEIGHTS), requester_type=requester,
                organization=organization, region=comuna.region, comuna=comuna,
                created_by=self.actors["operator"] if channel.code in ASSISTED_CHANNELS
                and prefix == "junaeb" else None,
                idempotency_key=key, received_at=self._received_at(rng),
            )
            self._replay(draft, rng, prefix)

    def _citizen_tickets(self, institution, user) -> None:
        types = {t.code: t for t in TicketType.objects.filter(institution=institution)}
        topics = {t.name: t for t in Topic.objects.filter(institution=institution)}
        organization = Organization.objects.filter(institution=institution).order_by("code").first()
        contact = ContactData(full_name=user.get_full_name(), email=user.email,
                              phone="+56 9 6123 4567", rut=valid_rut(random.Random(SEED)))
        plans = [("reclamo", "PAE Celiaco", 90), ("consulta", "Beca BAES", 20),
                 ("reclamo", "Canastas Junaeb", 2)]
        for number, (type_code, topic_name, days_ago) in enumerate(plans[:CITIZEN_TICKETS], 1):
            key = f"demo-persona-{number}"
            if Ticket.objects.filter(institution=institution, idempotency_key=key).exists():
                continue
            rng = random.Random(f"{SEED}-{key}")
            topic_key = next(k for k, name, _p, _a in data.JUNAEB_TOPICS if name == topic_name)
            _k, subject, detail = next(t for t in data.TEXTS[type_code] if t[0] == topic_key)
            fill = {"org": organization.name, "comuna": organization.comuna.name,
                    "dia": "martes", "nombre": "Martina"}
            draft = TicketDraft(
                institution=institution, channel=self.channels["web"],
                ticket_type=types[type_code], topic=topics[topic_name],
                subject=subject.format(**fill), detail=detail.format(**fill), contact=contact,
                organization=organization, region=organization.region,
                comuna=organization.comuna, citizen_user=user, idempotency_key=key,
                received_at=self.now - timedelta(days=days_ago, hours=3),
            )
            self._replay(draft, rng, "junaeb")

    def _received_at(self, rng: random.Random) -> datetime:
        # More requests recently than a year ago; office hours and evenings, Chile time.
        days_ago = int(365 * rng.random() ** 1.5)
        local = timezone.localtime(self.now, SANTIAGO) - timedelta(days=days_ago)
        local = local.replace(hour=rng.choice([8, 9, 10, 11, 12, 13, 15, 16, 17, 19, 21]),
                              minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
        moment = local.astimezone(UTC)
        while moment > self.now - timedelta(minutes=30):
            moment -= timedelta(days=1)
        return moment

    def _replay(self, draft: TicketDraft, rng: random.Random, prefix: str) -> None:
        """Open one ticket and play its history on a simulated clock, in one transaction."""
        with transaction.atomic():
            with simulated_clock(draft.received_at) as move_to:
                ticket = ticket_open(draft=draft)
                self._history(ticket, rng, prefix, move_to)
            pending = OutboundMessage.objects.filter(
                ticket=ticket, status=OutboundStatus.PENDING).values_list("pk", flat=True)
            outbox_cancel(message_ids=list(pending), reason=demo.DEMO_CANCEL_REASON)
        self.created[Ticket._meta.verbose_name_plural] += 1

    def _answer(self, ticket: Ticket, stage: str, body: str, prefix: str,
                rng: random.Random) -> TicketAnswer:
        """Draft (by the area's responder when there is one), approve when the topic is
        sensitive, and send (by the channel administrator) one stage's answer."""
        ticket.refresh_from_db()
        triage = self.actors["junji"] if prefix == "junji" else self.actors["triage"]
        responder = self.actors["responder"]
        author = responder if ticket.area_id and responder.memberships.filter(
            institution=ticket.institution, areas=ticket.area_id).exists() else triage
        root_cause, corrective_action = ("", "")
        if stage == ResponseStage.FINAL and ticket.ticket_type.requires_root_cause:
            root_cause, corrective_action = rng.choice(data.ROOT_CAUSES)
        answer = answer_draft(ticket=ticket, actor=author, stage=stage, body=body,
                              root_cause=root_cause, corrective_action=corrective_action)
        answer = answer_submit(answer=answer, actor=author)
        if answer.status == "pending_approval":
            answer = answer_review(answer=answer, actor=self.actors["supervisor"], approve=True)
        return answer_send(answer=answer, actor=triage)

    def _history(self, ticket: Ticket, rng: random.Random, prefix: str, move_to) -> None:
        received = ticket.received_at
        target = timedelta(hours=ticket.ticket_type.target_hours)
        latest = self.now - timedelta(minutes=5)
        age = self.now - received
        triage = self.actors["junji"] if prefix == "junji" else self.actors["triage"]
        first_text, final_text = data.REPLIES.get(ticket.ticket_type.code, data.REPLIES["consulta"])

        def at(moment: datetime) -> bool:
            if moment >= latest:
                return False
            move_to(moment)
            return True

        def replier() -> User:
            if prefix == "junaeb" and ticket.area and ticket.area.name == data.AREA_PAE \
                    and rng.random() < 0.7:
                return self.actors["responder"]
            return self.actors["supervisor"] if prefix == "junaeb" and rng.random() < 0.15 \
                else triage

        if ticket.ticket_type.workflow == "type1":  # the intake service answered and closed it
            return

        if age < timedelta(days=1):
            outcome = rng.choices(["new", "progress"], [60, 40])[0]
        elif age < 2 * target:
            outcome = rng.choices(["new", "progress", "waiting", "closed"], [20, 30, 15, 35])[0]
        else:
            outcome = rng.choices(["new", "progress", "waiting", "closed"], [1, 2, 2, 95])[0]
        if outcome == "new" and age < timedelta(days=2):
            return  # still in the triage queue

        # The channel administrator confirms the area the rules chose, within hours.
        moment = received + timedelta(hours=rng.uniform(0.3, 6))
        if not at(moment):
            return
        triage_confirm(ticket=ticket, actor=triage)
        ticket.refresh_from_db()
        if outcome == "new":
            return  # confirmed but untouched: overdue once its deadline passes
        if rng.random() < 0.5:
            actor = self.actors["operator"] if prefix == "junaeb" and rng.random() < 0.3 else triage
            ticket_add_note(ticket=ticket, actor=actor, body=rng.choice(data.TRIAGE_NOTES))
        if rng.random() < 0.12:
            other = list(ticket.institution.areas.exclude(pk=ticket.area_id).order_by("pk"))
            if other:
                ticket = ticket_change_area(ticket=ticket, actor=triage, area=rng.choice(other),
                                            reason=data.AREA_CHANGE_REASON)
        on_time = rng.random() < 0.9
        hours = target.total_seconds() / 3600
        delay = rng.uniform(1, 0.8 * hours) if on_time else rng.uniform(hours, 2 * hours)
        moment = max(moment, received + timedelta(hours=delay)) + timedelta(minutes=10)
        via_waiting = outcome == "waiting" or (outcome == "closed" and rng.random() < 0.25)
        if not at(moment):
            return
        if via_waiting:
            ticket_reply(ticket=ticket, actor=triage, body=data.WAITING_QUESTION,
                         then_status=Status.WAITING_CITIZEN)
            if outcome == "waiting":
                return
            moment += timedelta(hours=rng.uniform(2, 48))
            if not at(moment):
                return
            ticket_add_citizen_message(ticket=ticket, body=data.CITIZEN_ANSWER,
                                       channel=self.channels["web"])
        # (b) the plan, drafted by the area and sent by the channel administrator.
        self._answer(ticket, ResponseStage.PLAN, first_text, prefix, rng)
        if outcome == "progress":
            return
        moment += timedelta(hours=rng.uniform(4, max(8, hours * 1.5)))
        if at(moment):
            # (c) the final answer closes the ticket (with root cause for complaints).
            self._answer(ticket, ResponseStage.FINAL, final_text, prefix, rng)
            if rng.random() < 0.03 and at(moment + timedelta(days=2)):
                ticket_change_status(ticket=ticket, actor=triage, to_status=Status.IN_PROGRESS,
                                     reason=_("La persona indica que el problema continúa."))
