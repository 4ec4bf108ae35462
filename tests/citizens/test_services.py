from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from tests.factories import CitizenFactory, UserFactory
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.citizens.services import (
    ContactData,
    citizen_link_verified_user,
    citizen_resolve,
    normalize_email,
    normalize_phone,
)

pytestmark = pytest.mark.django_db


def _identity(citizen, kind, value):
    ChannelIdentity.objects.create(citizen=citizen, kind=kind, value=value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("+56 9 1234 5678", "56912345678"),
    ("9 1234 5678", "56912345678"),
    ("912345678", "56912345678"),
    ("(+56) 9-1234-5678", "56912345678"),
    ("56912345678", "56912345678"),
    ("22 123 4567", "56221234567"),
    ("", ""),
    (None, ""),
])
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def test_normalize_email():
    assert normalize_email("  Ana.Perez@Example.CL ") == "ana.perez@example.cl"
    assert normalize_email(None) == ""


def test_creates_a_person_with_identities():
    citizen = citizen_resolve(contact=ContactData(
        full_name=" Juana Soto ", email="Juana@Example.cl", phone="+56 9 1234 5678",
        rut="125319092"))
    assert citizen.full_name == "Juana Soto"
    assert citizen.email == "juana@example.cl"
    assert citizen.rut == "125319092"
    assert citizen.user is None
    identities = set(citizen.identities.values_list("kind", "value"))
    assert identities == {(IdentityKind.EMAIL, "juana@example.cl"),
                          (IdentityKind.PHONE, "56912345678")}


def test_blank_rut_is_stored_as_null_so_many_people_have_none():
    a = citizen_resolve(contact=ContactData(full_name="A", email="a@example.cl"))
    b = citizen_resolve(contact=ContactData(full_name="B", email="b@example.cl"))
    assert a.pk != b.pk
    assert a.rut is None and b.rut is None


def test_precedence_user_over_rut_over_email_over_phone():
    user = UserFactory()
    by_user = CitizenFactory(user=user, rut=None)
    by_rut = CitizenFactory(rut="125319092")
    by_email = CitizenFactory()
    _identity(by_email, IdentityKind.EMAIL, "mail@example.cl")
    by_phone = CitizenFactory()
    _identity(by_phone, IdentityKind.PHONE, "56912345678")
    everything = {"full_name": "X", "email": "mail@example.cl", "phone": "912345678"}

    assert citizen_resolve(contact=ContactData(rut="125319092", **everything), user=user) == by_user
    assert citizen_resolve(contact=ContactData(rut="125319092", **everything)) == by_rut
    assert citizen_resolve(contact=ContactData(**everything)) == by_email
    assert citizen_resolve(contact=ContactData(full_name="X", phone="+56 9 1234 5678")) == by_phone
    assert citizen_resolve(contact=ContactData(full_name="X", phone="912345678"),
                           user=AnonymousUser()) == by_phone


def test_email_match_is_case_insensitive():
    citizen = CitizenFactory()
    _identity(citizen, IdentityKind.EMAIL, "ana@example.cl")
    assert citizen_resolve(contact=ContactData(full_name="Ana", email=" ANA@example.CL")) == citizen


def test_anonymous_input_only_fills_blanks():
    citizen = CitizenFactory(full_name="Juana Soto", email="juana@example.cl", phone="", rut=None)
    _identity(citizen, IdentityKind.EMAIL, "juana@example.cl")
    resolved = citizen_resolve(contact=ContactData(
        full_name="Impostor", email="juana@example.cl", phone="+56 9 8888 7777", rut="125319092"))
    assert resolved == citizen
    citizen.refresh_from_db()
    assert citizen.full_name == "Juana Soto"  # not overwritten
    assert citizen.email == "juana@example.cl"
    assert citizen.phone == "+56 9 8888 7777"  # was blank
    assert citizen.rut == "125319092"  # was blank


def test_fill_blank_rut_never_takes_another_persons_rut():
    holder = CitizenFactory(rut="125319092")
    user = UserFactory()
    own = CitizenFactory(user=user, rut=None)
    # the account's own record has no RUT; the RUT typed belongs to someone else
    resolved = citizen_resolve(contact=ContactData(full_name="Ana", rut="125319092"), user=user)
    assert resolved == own
    own.refresh_from_db()
    assert own.rut is None
    assert Citizen.objects.get(rut="125319092") == holder


def test_identity_never_stolen_from_another_person():
    owner = CitizenFactory(rut=None)
    _identity(owner, IdentityKind.EMAIL, "shared@example.cl")
    known = CitizenFactory(rut="125319092", email="")
    # a person known by RUT types an e-mail that belongs to someone else
    resolved = citizen_resolve(contact=ContactData(full_name="Otro", email="shared@example.cl",
                                                   phone="933333333", rut="125319092"))
    assert resolved == known
    identity = ChannelIdentity.objects.get(kind=IdentityKind.EMAIL, value="shared@example.cl")
    assert identity.citizen == owner
    phone = ChannelIdentity.objects.get(kind=IdentityKind.PHONE, value="56933333333")
    assert phone.citizen == known
    # the blank e-mail on the record is filled (it is a contact detail, not an identity)
    known.refresh_from_db()
    assert known.email == "shared@example.cl"
    assert ChannelIdentity.objects.filter(value="shared@example.cl").count() == 1


def test_logged_in_account_files_as_itself():
    user = UserFactory()
    citizen = citizen_resolve(contact=ContactData(full_name="Ana", email="ana@example.cl"),
                              user=user)
    assert citizen.user == user
    assert citizen_resolve(contact=ContactData(full_name="Ana"), user=user) == citizen


def test_logged_in_account_is_not_attached_to_a_record_found_by_typed_data():
    stranger = CitizenFactory(rut="125319092")
    _identity(stranger, IdentityKind.EMAIL, "stranger@example.cl")
    user = UserFactory()
    citizen = citizen_resolve(contact=ContactData(full_name="Ana", email="stranger@example.cl",
                                                  rut="125319092"), user=user)
    assert citizen != stranger
    assert citizen.user == user
    assert citizen.rut is None  # the RUT stays with the person who holds it
    stranger.refresh_from_db()
    assert stranger.user is None
    assert ChannelIdentity.objects.get(value="stranger@example.cl").citizen == stranger


def test_rut_race_uses_the_record_created_meanwhile():
    """Another request creates the same RUT between our lookup and our insert."""
    existing = CitizenFactory(rut="125319092", full_name="Primera")
    real_filter = Citizen.objects.filter
    calls = {"n": 0}

    def filter_missing_first_rut_lookup(*args, **kwargs):
        if kwargs.get("rut") == "125319092" and calls["n"] == 0:
            calls["n"] += 1
            return Citizen.objects.none()
        return real_filter(*args, **kwargs)

    with mock.patch.object(Citizen.objects, "filter", side_effect=filter_missing_first_rut_lookup):
        resolved = citizen_resolve(contact=ContactData(full_name="Segunda", rut="125319092",
                                                       email="segunda@example.cl"))
    assert calls["n"] == 1  # the race was really simulated
    assert resolved == existing
    assert Citizen.objects.filter(rut="125319092").count() == 1
    # the connection is still usable (the failed insert was inside a savepoint)
    with transaction.atomic():
        assert Citizen.objects.count() == 1


# --- citizen_link_verified_user -------------------------------------------------------------

def test_link_to_existing_email_identity():
    citizen = CitizenFactory()
    _identity(citizen, IdentityKind.EMAIL, "ana@example.cl")
    user = UserFactory(email="ana@example.cl")
    linked = citizen_link_verified_user(user=user)
    assert linked == citizen
    citizen.refresh_from_db()
    assert citizen.user == user
    identity = ChannelIdentity.objects.get(kind=IdentityKind.EMAIL, value="ana@example.cl")
    assert identity.verified_at is not None


def test_link_creates_a_person_when_none_exists():
    user = UserFactory(email="nueva@example.cl", first_name="Nueva", last_name="Persona")
    citizen = citizen_link_verified_user(user=user)
    assert citizen.user == user
    assert citizen.email == "nueva@example.cl"
    assert citizen.full_name == "Nueva Persona"
    identity = citizen.identities.get()
    assert (identity.kind, identity.value) == (IdentityKind.EMAIL, "nueva@example.cl")
    assert identity.verified_at is not None


def test_link_is_idempotent():
    user = UserFactory(email="ana@example.cl")
    first = citizen_link_verified_user(user=user)
    verified_at = ChannelIdentity.objects.get(value="ana@example.cl").verified_at
    second = citizen_link_verified_user(user=user)
    assert first == second
    assert Citizen.objects.filter(user=user).count() == 1
    assert ChannelIdentity.objects.filter(value="ana@example.cl").count() == 1
    assert ChannelIdentity.objects.get(value="ana@example.cl").verified_at == verified_at


def test_link_never_takes_a_record_owned_by_another_account():
    other_user = UserFactory(email="old@example.cl")
    taken = CitizenFactory(user=other_user)
    _identity(taken, IdentityKind.EMAIL, "ana@example.cl")
    user = UserFactory(email="ana@example.cl")
    citizen = citizen_link_verified_user(user=user)
    assert citizen != taken
    assert citizen.user == user
    taken.refresh_from_db()
    assert taken.user == other_user


def test_link_keeps_an_account_that_already_has_a_record():
    user = UserFactory(email="ana@example.cl")
    own = CitizenFactory(user=user)
    linked = citizen_link_verified_user(user=user)
    assert linked == own
    identity = ChannelIdentity.objects.get(value="ana@example.cl")
    assert identity.citizen == own
    assert identity.verified_at is not None
