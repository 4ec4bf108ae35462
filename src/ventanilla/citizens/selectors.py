"""Reads on people: possible duplicates of a record, and its merges."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from ventanilla.citizens.models import ChannelIdentity, Citizen, CitizenMerge, IdentityKind
from ventanilla.citizens.services import normalize_email, normalize_phone
from ventanilla.core.rut import rut_normalize

MAX_CANDIDATES = 10
_PHONE_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)


@dataclass(frozen=True)
class DuplicateCandidate:
    citizen: Citizen
    reasons: tuple[str, ...]


def name_key(value: str) -> str:
    """'  José  PÉREZ ' → 'jose perez' (case, accents and spacing ignored)."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().lower()


def _email_domain(email: str) -> str:
    email = normalize_email(email)
    return email.rsplit("@", 1)[1] if "@" in email else ""


def _contacts(citizen: Citizen) -> tuple[set[str], set[str]]:
    """Normalised e-mails and phones of a person (record fields and identities)."""
    emails = {normalize_email(citizen.email)} - {""}
    phones = {normalize_phone(citizen.phone)} - {""}
    for identity in citizen.identities.all():
        if identity.kind == IdentityKind.EMAIL:
            emails.add(normalize_email(identity.value))
        elif identity.kind in _PHONE_KINDS:
            phones.add(normalize_phone(identity.value))
    return emails, phones - {""}


def citizen_duplicate_candidates(*, citizen: Citizen) -> list[DuplicateCandidate]:
    """Other records (not merged) that may be the same person — proposals only, a person
    decides: the same e-mail or phone written differently, or the same name (ignoring case
    and accents) with an e-mail of the same domain. Two records never share a RUT."""
    citizen = Citizen.objects.prefetch_related("identities").get(pk=citizen.pk)
    emails, phones = _contacts(citizen)
    domains = {_email_domain(email) for email in emails} - {""}
    key = name_key(citizen.full_name)

    query = Q()
    for email in emails:
        query |= Q(email__iexact=email) | Q(identities__value__iexact=email)
    for phone in phones:
        # Stored values may carry spaces or signs: match the last digits, compare in Python.
        tail = phone[-4:]
        query |= Q(phone__endswith=tail) | Q(identities__kind__in=_PHONE_KINDS,
                                             identities__value__endswith=tail)
    if key:
        for domain in domains:
            query |= Q(email__iendswith="@" + domain) | Q(
                identities__kind=IdentityKind.EMAIL, identities__value__iendswith="@" + domain)
    if not query:
        return []
    rows = (Citizen.objects.filter(query, merged_into__isnull=True).exclude(pk=citizen.pk)
            .distinct().order_by("pk").prefetch_related("identities")[:200])
    result = []
    for row in rows:
        row_emails, row_phones = _contacts(row)
        reasons = []
        if emails & row_emails:
            reasons.append(_("mismo correo electrónico"))
        if phones & row_phones:
            reasons.append(_("mismo teléfono"))
        row_domains = {_email_domain(email) for email in row_emails}
        if key and name_key(row.full_name) == key and domains & row_domains:
            reasons.append(_("mismo nombre y dominio de correo"))
        if reasons:
            result.append(DuplicateCandidate(citizen=row, reasons=tuple(reasons)))
        if len(result) >= MAX_CANDIDATES:
            break
    return result


def citizen_merge_list(*, citizen: Citizen) -> list[CitizenMerge]:
    """Merges in which the record took part, newest first."""
    return list(CitizenMerge.objects.filter(Q(keep=citizen) | Q(other=citizen))
                .select_related("keep", "other", "actor", "undone_by"))


# --- operator lookup (phone line, office counter) ------------------------------------------------

LOOKUP_LIMIT = 20
_RUT_SHAPE = re.compile(r"[0-9][0-9.\s]{0,11}-?\s*[0-9kK]")
_PHONE_SHAPE = re.compile(r"[0-9\s()+\-]{8,24}")


@dataclass(frozen=True)
class LookupTerms:
    """What a lookup box text was understood as (several readings may hold at once: nine
    bare digits may be a RUT and a mobile number)."""

    text: str
    rut: str = ""  # compact
    phone: str = ""  # digits with country code
    email: str = ""

    @property
    def is_searchable(self) -> bool:
        return bool(self.rut or self.phone or self.email)


@dataclass(frozen=True)
class LookupMatch:
    citizen: Citizen
    reasons: tuple[str, ...]
    tickets_here: int


def citizen_lookup_terms(query: str) -> LookupTerms:
    """Detect the format of the operator's one lookup field: e-mail, RUT (any format:
    12.345.678-5, 12345678-5, 123456785) or phone (any format: +56 9 1234 5678, 912345678)."""
    text = (query or "").strip()[:254]
    if "@" in text:
        email = normalize_email(text)
        local, _sep, domain = email.partition("@")
        return LookupTerms(text=text, email=email if local and "." in domain else "")
    rut = phone = ""
    if _RUT_SHAPE.fullmatch(text):
        try:
            rut = rut_normalize(text)
        except ValidationError:
            rut = ""
    if _PHONE_SHAPE.fullmatch(text) and "." not in text:
        digits = normalize_phone(text)
        if 8 <= len(digits) <= 15:
            phone = digits
    return LookupTerms(text=text, rut=rut, phone=phone)


def _phone_spellings(digits: str) -> set[str]:
    """Ways people type a number into a form, for the record's free-text phone field (the
    identities table holds the normalised value and is matched exactly)."""
    spellings = {digits, "+" + digits}
    if digits.startswith("56") and len(digits) == 11:
        local = digits[2:]
        grouped = f"{local[0]} {local[1:5]} {local[5:]}"
        spellings |= {local, grouped, "0" + local, f"+56 {grouped}", f"56 {grouped}",
                      f"+56 {local}", f"+56{local[0]} {local[1:5]} {local[5:]}",
                      f"+56 {local[0]} {local[1:]}", f"{local[0]} {local[1:]}"}
    return spellings


def citizen_lookup(query: str, institution, *, limit: int = LOOKUP_LIMIT) -> list[LookupMatch]:
    """People (merged records excluded) matching a RUT, phone or e-mail in any format, by
    exact normalised values only — unique RUT, the identities' (kind, value) index, the
    record's own e-mail/phone — never by suffix. Those with tickets in ``institution``
    come first. A person is global; what staff then see of them is scoped elsewhere."""
    terms = citizen_lookup_terms(query)
    if not terms.is_searchable:
        return []
    reasons: dict[int, list[str]] = {}

    def found(ids, reason: str) -> None:
        for pk in ids:
            reasons.setdefault(pk, [])
            if reason not in reasons[pk]:
                reasons[pk].append(reason)

    alive = Citizen.objects.filter(merged_into__isnull=True)
    if terms.rut:
        found(alive.filter(rut=terms.rut).values_list("pk", flat=True), _("RUT"))
    if terms.email:
        found(ChannelIdentity.objects.filter(kind=IdentityKind.EMAIL, value=terms.email,
                                             citizen__merged_into__isnull=True)
              .values_list("citizen_id", flat=True)[:limit], _("correo electrónico"))
        found(alive.filter(email=terms.email).values_list("pk", flat=True)[:limit],
              _("correo electrónico"))
    if terms.phone:
        found(ChannelIdentity.objects.filter(kind__in=_PHONE_KINDS, value=terms.phone,
                                             citizen__merged_into__isnull=True)
              .values_list("citizen_id", flat=True)[:limit], _("teléfono"))
        found(alive.filter(phone__in=_phone_spellings(terms.phone))
              .values_list("pk", flat=True)[:limit], _("teléfono"))
    if not reasons:
        return []
    from ventanilla.tickets.models import Ticket  # tickets depend on citizens, not back

    counts = dict(Ticket.objects.filter(citizen_id__in=list(reasons), institution=institution)
                  .values("citizen_id").annotate(n=Count("id")).values_list("citizen_id", "n"))
    people = Citizen.objects.in_bulk(list(reasons))
    matches = [LookupMatch(citizen=people[pk], reasons=tuple(reasons[pk]),
                           tickets_here=counts.get(pk, 0)) for pk in reasons if pk in people]
    matches.sort(key=lambda m: (-m.tickets_here, -m.citizen.pk))
    return matches[:limit]


# --- the personal-data access log (console: /consola/accesos/) ------------------------------------

def people_matching(*, text: str) -> list[int]:
    """Ids of the person records a RUT or e-mail address typed by a supervisor points to
    (the record itself, its channel identities, and records merged into it)."""
    text = (text or "").strip()
    if not text:
        return []
    condition = Q()
    if "@" in text:
        email = text.lower()
        condition = Q(email__iexact=email) | Q(identities__kind="email",
                                               identities__value__iexact=email)
    else:
        try:
            condition = Q(rut=rut_normalize(text))
        except ValidationError:
            return []
    ids = set(Citizen.objects.filter(condition).values_list("pk", flat=True))
    ids |= set(Citizen.objects.filter(merged_into_id__in=ids).values_list("pk", flat=True))
    return sorted(ids)


def access_log(*, institution_id: int, category: str = "", actor_email: str = "",
               citizen_ids: list[int] | None = None, folio: str = "", action: str = "",
               date_from=None, date_to=None):
    """One institution's audit events, newest first, filtered. ``citizen_ids``: events about
    those people — on their record, or on one of their tickets in this institution (also
    events recorded before the person column existed)."""
    from ventanilla.core.models import AuditEvent
    from ventanilla.tickets.models import Ticket

    events = AuditEvent.objects.filter(institution_id=institution_id)
    if category:
        events = events.filter(category=category)
    if action:
        events = events.filter(action=action)
    if actor_email:
        events = events.filter(actor__email__iexact=actor_email.strip())
    if citizen_ids is not None:
        ticket_ids = [str(pk) for pk in Ticket.objects.filter(
            institution_id=institution_id, citizen_id__in=citizen_ids).values_list("pk",
                                                                                   flat=True)]
        events = events.filter(Q(subject_citizen_id__in=citizen_ids)
                               | Q(object_type="tickets.ticket", object_id__in=ticket_ids))
    if folio:
        ticket_id = (Ticket.objects.filter(institution_id=institution_id,
                                           folio__iexact=folio.strip())
                     .values_list("pk", flat=True).first())
        events = events.filter(object_type="tickets.ticket", object_id=str(ticket_id or 0))
    if date_from:
        events = events.filter(occurred_at__gte=date_from)
    if date_to:
        events = events.filter(occurred_at__lt=date_to)
    return events.select_related("actor").order_by("-occurred_at", "-pk")


def access_log_subjects(events) -> tuple[dict[int, str], dict[int, Citizen]]:
    """For a page of events: ticket id → folio and person id → person, in two queries."""
    from ventanilla.tickets.models import Ticket

    ticket_ids = {int(e.object_id) for e in events
                  if e.object_type == "tickets.ticket" and e.object_id.isdigit()}
    citizen_ids = {e.subject_citizen_id for e in events if e.subject_citizen_id}
    folios = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "folio")) \
        if ticket_ids else {}
    people = Citizen.objects.in_bulk(citizen_ids) if citizen_ids else {}
    return folios, people
