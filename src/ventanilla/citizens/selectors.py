"""Reads on people: possible duplicates of a record, and its merges."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from ventanilla.citizens.models import Citizen, CitizenMerge, IdentityKind
from ventanilla.citizens.services import normalize_email, normalize_phone

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
