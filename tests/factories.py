"""factory_boy factories. Catalog rows belong to one institution: factories that need
several catalog entries take them from the same institution."""

import factory
from django.utils import timezone

from ventanilla.accounts.models import Membership, Role, User
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
from ventanilla.citizens.models import Citizen
from ventanilla.core.models import Comuna


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"Institución {n}")
    short_name = factory.Sequence(lambda n: f"INST{n}")
    slug = factory.Sequence(lambda n: f"inst-{n}")
    folio_prefix = factory.Sequence(lambda n: "T" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    contact_email = "oirs@example.cl"


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    institution = factory.SubFactory(InstitutionFactory)
    name = factory.Sequence(lambda n: f"Área {n}")


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    institution = factory.SubFactory(InstitutionFactory)
    name = "Reclamo"
    code = factory.Sequence(lambda n: f"reclamo-{n}")
    workflow = Workflow.THREE_STAGE
    target_hours = 72


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    institution = factory.SubFactory(InstitutionFactory)
    name = factory.Sequence(lambda n: f"Tema {n}")
    default_area = factory.LazyAttribute(lambda o: AreaFactory(institution=o.institution))


class RequesterTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequesterType

    institution = factory.SubFactory(InstitutionFactory)
    name = "Apoderado"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    institution = factory.SubFactory(InstitutionFactory)
    name = factory.Sequence(lambda n: f"Escuela {n}")
    code = factory.Sequence(lambda n: f"{10000 + n}")
    comuna = factory.LazyFunction(lambda: Comuna.objects.get(code="13101"))  # Santiago
    region = factory.LazyAttribute(lambda o: o.comuna.region)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"persona{n}@example.cl")
    first_name = "Ana"
    last_name = "Pérez"
    password = factory.PostGenerationMethodCall("set_password", "clave-segura-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    role = Role.TRIAGE

    @factory.post_generation
    def areas(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.areas.set(extracted)


class CitizenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citizen

    full_name = "Juana Soto"
    email = factory.Sequence(lambda n: f"juana{n}@example.cl")


def channel(code: str = "web") -> Channel:
    return Channel.objects.get(code=code)


def make_catalog(institution=None) -> dict:
    """A small, consistent catalog for one institution."""
    institution = institution or InstitutionFactory()
    area = AreaFactory(institution=institution, name="Área PAE")
    return {
        "institution": institution,
        "area": area,
        "complaint": TicketTypeFactory(institution=institution, name="Reclamo", code="reclamo"),
        "suggestion": TicketTypeFactory(institution=institution, name="Sugerencia",
                                        code="sugerencia", workflow=Workflow.INFORMATIVE),
        "topic": TopicFactory(institution=institution, name="PAE Básica-Media", default_area=area),
        "requester_type": RequesterTypeFactory(institution=institution),
        "organization": OrganizationFactory(institution=institution),
        "web": channel("web"),
    }


def open_ticket(catalog: dict, *, delivered: bool = True, **overrides):
    """Open a ticket through the intake service (the only writer), with sane defaults.
    ``delivered``: its acknowledgement counts as sent (see ``mark_queued_messages_sent``)."""
    from ventanilla.citizens.services import ContactData
    from ventanilla.tickets.services import TicketDraft, ticket_open

    contact = overrides.pop("contact", None) or ContactData(
        full_name="Juana Soto", email=overrides.pop("email", "juana@example.cl"),
        phone="+56 9 1234 5678", rut=overrides.pop("rut", ""),
    )
    org = catalog["organization"]
    fields = {
        "institution": catalog["institution"], "channel": catalog["web"],
        "ticket_type": catalog["complaint"], "topic": catalog["topic"],
        "subject": "Colación no llegó", "detail": "El lunes no llegó la colación a la escuela.",
        "contact": contact, "requester_type": catalog["requester_type"], "organization": org,
        "region": org.region, "comuna": org.comuna, "received_at": timezone.now(),
    }
    fields.update(overrides)
    ticket = ticket_open(draft=TicketDraft(**fields))
    if delivered:
        mark_queued_messages_sent(ticket)
    return ticket


def mark_queued_messages_sent(ticket) -> None:
    """Tests run inside a transaction that never commits, so the intake's acknowledgement is
    never delivered; messages to one person leave in order, so it would hold back every later
    message of the test. Treat it as delivered, as it would be in a few seconds."""
    from ventanilla.notifications.models import OutboundMessage, OutboundStatus

    OutboundMessage.objects.filter(ticket=ticket, status=OutboundStatus.PENDING).update(
        status=OutboundStatus.SENT, sent_at=timezone.now())


def make_endpoint(catalog: dict, *, provider: str, address: str, channel_code: str,
                  **overrides):
    """A ``ChannelEndpoint`` of the catalog's institution (default type: complaint)."""
    from ventanilla.channels.models import ChannelEndpoint

    fields = {
        "institution": catalog["institution"], "channel": channel(channel_code),
        "provider": provider, "address": address, "ticket_type": catalog["complaint"],
        "topic": catalog["topic"],
    }
    fields.update(overrides)
    return ChannelEndpoint.objects.create(**fields)
