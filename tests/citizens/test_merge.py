"""Merging two records of one person, and undoing a wrong merge."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import CitizenFactory, MembershipFactory, UserFactory, make_catalog
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import ChannelIdentity, Citizen, CitizenMerge, IdentityKind
from ventanilla.citizens.selectors import citizen_duplicate_candidates
from ventanilla.citizens.services import citizen_merge, citizen_merge_undo
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import Interaction, Ticket
from ventanilla.tickets.services import interaction_record_tracking

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(catalog):
    return MembershipFactory(institution=catalog["institution"], role=Role.SUPERVISOR).user


@pytest.fixture
def pair(person_ticket, catalog):
    """Two records of the same person: tickets, an extra interaction, identities."""
    first = person_ticket("juana@example.cl", phone="+56 9 1111 1111")
    second = person_ticket("juana.soto@example.cl", name="Juana S.", phone="+56 9 2222 2222",
                           rut="12345678K")
    interaction_record_tracking(ticket=second, channel=catalog["web"])
    keep, other = first.citizen, second.citizen
    assert keep.pk != other.pk
    return keep, other, first, second


def _state(citizen):
    citizen.refresh_from_db()
    return {
        "tickets": set(Ticket.objects.filter(citizen=citizen).values_list("pk", flat=True)),
        "interactions": set(Interaction.objects.filter(citizen=citizen)
                            .values_list("pk", flat=True)),
        "identities": set(citizen.identities.values_list("pk", flat=True)),
        "fields": (citizen.full_name, citizen.email, citizen.phone, citizen.rut, citizen.user_id,
                   citizen.merged_into_id),
    }


def test_merge_moves_everything_and_keeps_other_marked(pair, supervisor):
    keep, other, _first, _second = pair
    other_before = _state(other)
    assert other_before["tickets"] and other_before["interactions"]
    assert len(other_before["identities"]) == 2

    merge = citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")

    after = _state(keep)
    assert other_before["tickets"] <= after["tickets"]
    assert other_before["interactions"] <= after["interactions"]
    assert other_before["identities"] <= after["identities"]
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk  # kept, not deleted
    assert not Ticket.objects.filter(citizen=other).exists()
    assert not ChannelIdentity.objects.filter(citizen=other).exists()
    assert set(merge.ticket_ids) == other_before["tickets"]
    assert set(merge.identity_ids) == other_before["identities"]
    event = AuditEvent.objects.get(action="citizen.merged")
    assert event.actor == supervisor and event.data["other"] == other.pk


def test_merge_fills_blanks_never_overwrites(pair, supervisor):
    keep, other, *_ = pair
    keep.phone = ""
    keep.save()
    citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    keep.refresh_from_db()
    other.refresh_from_db()
    assert keep.full_name == "Juana Soto"  # not overwritten by "Juana S."
    assert keep.email == "juana@example.cl"  # not overwritten by other's
    assert keep.phone == "+56 9 2222 2222"  # blank: filled
    assert keep.rut == "12345678K" and other.rut is None  # the unique RUT moves


def test_rut_conflict_refused_nothing_changed(pair, supervisor):
    keep, other, *_ = pair
    Citizen.objects.filter(pk=keep.pk).update(rut="111111111")
    before_keep, before_other = _state(keep), _state(other)
    with pytest.raises(ValidationError, match="RUT distintos"):
        citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    assert _state(keep) == before_keep and _state(other) == before_other
    assert not CitizenMerge.objects.exists()
    assert not AuditEvent.objects.filter(action="citizen.merged").exists()


def test_two_accounts_refused(pair, supervisor):
    keep, other, *_ = pair
    Citizen.objects.filter(pk=keep.pk).update(user=UserFactory())
    Citizen.objects.filter(pk=other.pk).update(user=UserFactory())
    before = _state(other)
    with pytest.raises(ValidationError, match="cuenta"):
        citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    assert _state(other) == before
    assert not CitizenMerge.objects.exists()


def test_reason_required(pair, supervisor):
    keep, other, *_ = pair
    with pytest.raises(ValidationError):
        citizen_merge(keep=keep, other=other, actor=supervisor, reason="  ")


def test_undo_restores_exactly_and_refuses_twice(pair, supervisor):
    keep, other, *_ = pair
    account = UserFactory()
    Citizen.objects.filter(pk=other.pk).update(user=account)
    keep.phone = ""
    keep.save()
    before_keep, before_other = _state(keep), _state(other)

    merge = citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    keep.refresh_from_db()
    assert keep.user_id == account.pk
    citizen_merge_undo(merge=merge, actor=supervisor)

    assert _state(keep) == before_keep
    assert _state(other) == before_other
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == supervisor
    assert AuditEvent.objects.filter(action="citizen.merge_undone").count() == 1
    with pytest.raises(ValidationError, match="ya fue deshecha"):
        citizen_merge_undo(merge=merge, actor=supervisor)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.RESPONDER, Role.AUDITOR, Role.TRIAGE])
def test_roles_without_merge_power_refused(pair, catalog, role):
    keep, other, *_ = pair
    actor = MembershipFactory(institution=catalog["institution"], role=role).user
    with pytest.raises(PermissionDenied):
        citizen_merge(keep=keep, other=other, actor=actor, reason="Misma persona")
    assert not CitizenMerge.objects.exists()
    other.refresh_from_db()
    assert other.merged_into_id is None


def test_actor_without_membership_where_other_has_tickets_refused(pair, person_ticket, supervisor):
    keep, other, *_ = pair
    elsewhere = make_catalog()
    person_ticket("juana.soto@example.cl", cat=elsewhere)  # the same other person, elsewhere
    assert Ticket.objects.filter(citizen=other).values("institution").distinct().count() == 2
    with pytest.raises(PermissionDenied):
        citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    assert Ticket.objects.filter(citizen=other).count() == 2
    # A supervisor of both institutions may.
    MembershipFactory(user=supervisor, institution=elsewhere["institution"],
                      role=Role.SUPERVISOR)
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)
    citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    assert not Ticket.objects.filter(citizen=other).exists()


def test_merged_record_cannot_be_merged_again(pair, supervisor):
    keep, other, *_ = pair
    citizen_merge(keep=keep, other=other, actor=supervisor, reason="Misma persona")
    third = CitizenFactory()
    with pytest.raises(ValidationError):
        citizen_merge(keep=third, other=other, actor=supervisor, reason="Otra vez")


def test_duplicate_candidates():
    me = CitizenFactory(full_name="José Pérez", email="jose@municipio.cl", phone="+56 9 3333 3333")
    same_name = CitizenFactory(full_name="JOSE  PEREZ", email="jperez@municipio.cl")
    other_name = CitizenFactory(full_name="María Rojas", email="maria@municipio.cl")
    same_phone = CitizenFactory(full_name="", email="", phone="933333333")
    whatsapp = CitizenFactory(full_name="", email="")
    ChannelIdentity.objects.create(citizen=whatsapp, kind=IdentityKind.WHATSAPP,
                                   value="+56 9 3333 3333")
    merged = CitizenFactory(full_name="José Pérez", email="jose.p@municipio.cl",
                            merged_into=same_name)
    found = {c.citizen.pk: c.reasons for c in citizen_duplicate_candidates(citizen=me)}
    assert same_name.pk in found and same_phone.pk in found and whatsapp.pk in found
    assert other_name.pk not in found and merged.pk not in found and me.pk not in found
