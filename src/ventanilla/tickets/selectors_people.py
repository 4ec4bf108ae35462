"""What one institution knows of a person.

``Citizen`` is global (one person, one record), but what the person told another
institution is that institution's: staff see only the contact data that reached their own
institution (its tickets), never the e-mail or phone given elsewhere. Every page or export
that shows a person to staff reads the person through these two selectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from ventanilla.citizens.models import ChannelIdentity
from ventanilla.citizens.services import normalize_email, normalize_phone
from ventanilla.core.rut import rut_format
from ventanilla.tickets.models import Interaction, Ticket


@dataclass(frozen=True)
class PersonFacts:
    full_name: str = ""  # blank: the person has no ticket in this institution
    rut: str = ""
    email: str = ""
    phone: str = ""

    @property
    def rut_display(self) -> str:
        return rut_format(self.rut)


def _institution_contacts(citizen, institution) -> list[tuple[str, str, str, str, str]]:
    return list(Ticket.objects.filter(citizen=citizen, institution=institution)
                .order_by("-received_at", "-pk")
                .values_list("contact_rut", "contact_email", "contact_phone", "reply_address",
                             "contact_name"))


def _known_elsewhere(citizen, institution) -> bool:
    """Another institution holds the person (a ticket or a contact): only then may the
    record carry what that institution was told."""
    return (Ticket.objects.filter(citizen=citizen).exclude(institution=institution).exists()
            or Interaction.objects.filter(citizen=citizen).exclude(
                institution=institution).exists())


def citizen_facts_in_institution(*, citizen, institution) -> PersonFacts:
    """The person's name, RUT, e-mail and phone as the institution received them: the
    record's value when one of the institution's tickets carries it, else the newest
    ticket's; all blank for a person with no ticket here. A record no other institution
    holds (an account, a first contact here) is shown as it is."""
    if not _known_elsewhere(citizen, institution):
        return PersonFacts(full_name=citizen.full_name, rut=citizen.rut or "",
                           email=citizen.email, phone=citizen.phone)
    rows = _institution_contacts(citizen, institution)
    names = [row[4] for row in rows if row[4]]
    ruts = [row[0] for row in rows if row[0]]
    emails = [normalize_email(row[1]) for row in rows if row[1]]
    phones = [row[2] for row in rows if row[2]]
    phone_keys = {normalize_phone(phone) for phone in phones}
    return PersonFacts(
        full_name=(citizen.full_name if citizen.full_name in names
                   else (names[0] if names else "")),
        rut=citizen.rut if citizen.rut and citizen.rut in ruts else (ruts[0] if ruts else ""),
        email=(citizen.email if normalize_email(citizen.email) in emails
               else (emails[0] if emails else "")),
        phone=(citizen.phone if citizen.phone and normalize_phone(citizen.phone) in phone_keys
               else (phones[0] if phones else "")),
    )


def citizen_identities_in_institution(*, citizen, institution) -> list[ChannelIdentity]:
    """The person's channel identities that reached this institution (an e-mail, phone or
    chat address on one of its tickets); identities used only elsewhere stay out."""
    identities = citizen.identities.order_by("kind", "value")
    if not _known_elsewhere(citizen, institution):
        return list(identities)
    values: set[str] = set()
    for _rut, email, phone, reply_address, _name in _institution_contacts(citizen, institution):
        values |= {normalize_email(email), normalize_phone(phone), reply_address.strip(),
                   normalize_phone(reply_address)}
    values.discard("")
    return [identity for identity in identities
            if identity.value in values or normalize_email(identity.value) in values
            or normalize_phone(identity.value) in values]
