"""Sign-up, e-mail verification, login, logout and the landing page after login."""

import html
import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, open_ticket
from ventanilla.accounts.services import email_verification_token, user_verify_email
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()
SIGNUP = reverse("accounts:signup")
MY_REQUESTS = reverse("portal:my-requests")
PASSWORD = "una-clave-larga-2026"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _signup(client, **overrides):
    data = {"full_name": "Juana Soto", "email": "Juana@Example.cl", "password1": PASSWORD,
            "password2": PASSWORD}
    data.update(overrides)
    return client.post(SIGNUP, data)


def _link_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/cuenta/verificar/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_verify_then_my_requests_lists_earlier_tickets(
    client, catalog, mailoutbox, django_capture_on_commit_callbacks
):
    # The acknowledgements go out first (messages to one person leave in order).
    with django_capture_on_commit_callbacks(execute=True):
        earlier = open_ticket(catalog, email="juana@example.cl", subject="Pedido anterior")
        someone_else = open_ticket(catalog, subject="De otra persona", contact=ContactData(
            full_name="Pedro Rojas", email="pedro@example.cl", phone="+56 2 2222 3333"))
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup-done")
    user = User.objects.get()
    assert user.email == "juana@example.cl"
    assert user.first_name == "Juana Soto"
    assert user.is_active and user.email_verified_at is None
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.registered", object_id=str(user.pk)).exists()
    done = client.get(response["Location"])
    assert "juana@example.cl" in _text(done)

    # Unverified: the ticket filed earlier with that e-mail is not shown.
    listing = _text(client.get(MY_REQUESTS))
    assert earlier.folio not in listing
    assert "Confirme su correo" in listing

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["juana@example.cl"]
    path = _link_path(mailoutbox[0])
    verified = client.get(path)
    assert verified.status_code == 200
    assert "Correo confirmado" in _text(verified)
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert user.citizen == earlier.citizen

    listing = _text(client.get(MY_REQUESTS))
    assert earlier.folio in listing and "Pedido anterior" in listing
    assert someone_else.folio not in listing

    # The link is idempotent.
    assert client.get(path).status_code == 200


def test_verification_works_without_being_logged_in(client, catalog):
    user = UserFactory(email="luis@example.cl")
    response = Client().get(reverse("accounts:verify", args=[email_verification_token(user=user)]))
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_expired_token(client, catalog, monkeypatch):
    user = UserFactory()
    token = email_verification_token(user=user)
    real_unsign = signing.TimestampSigner.unsign

    def aged(self, value, max_age=None):
        return real_unsign(self, value, max_age=timedelta(seconds=-1) if max_age else None)

    monkeypatch.setattr(signing.TimestampSigner, "unsign", aged)
    response = client.get(reverse("accounts:verify", args=[token]))
    assert response.status_code == 400
    assert "El enlace venció" in _text(response)
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_token_older_than_three_days_is_expired(client, catalog):
    user = UserFactory()
    four_days_ago = time.time() - 4 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago):
        token = email_verification_token(user=user)
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago + 3600):
        assert user_verify_email(token=token) == user  # valid while fresh
    user.email_verified_at = None
    user.save()
    response = client.get(reverse("accounts:verify", args=[token]))
    assert response.status_code == 400
    assert "venció" in _text(response)


@pytest.mark.parametrize("token", ["basura", "a:b:c", "%00", "x" * 300])
def test_tampered_or_garbage_token(client, catalog, token):
    response = client.get(reverse("accounts:verify", args=[token]))
    assert response.status_code == 400
    assert "El enlace no es válido" in _text(response)


def test_token_with_changed_payload_is_invalid(client, catalog):
    user = UserFactory()
    token = email_verification_token(user=user)
    payload, rest = token.split(":", 1)
    forged = signing.TimestampSigner(salt="otra-sal").sign_object({"u": user.pk, "e": user.email})
    for bad in (payload[:-2] + "AA:" + rest, forged):
        response = client.get(reverse("accounts:verify", args=[bad]))
        assert response.status_code == 400
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_token_for_an_old_email_address_is_invalid(client, catalog):
    user = UserFactory(email="antes@example.cl")
    token = email_verification_token(user=user)
    user.email = "despues@example.cl"
    user.save()
    assert client.get(reverse("accounts:verify", args=[token])).status_code == 400


def test_signup_duplicate_email_case_insensitive(client, catalog):
    UserFactory(email="juana@example.cl")
    response = _signup(client, email="JUANA@example.cl")
    assert response.status_code == 200
    assert "Ya existe una cuenta con este correo" in response.context["form"].errors["email"][0]
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Escriba su nombre completo."),
        ({"email": ""}, "email", "Escriba su correo electrónico."),
        ({"email": "no-correo"}, "email", "correo válido"),
        ({"password1": ""}, "password1", "Escriba una contraseña."),
        ({"password2": "otra-cosa-distinta"}, "password2", "Las contraseñas no coinciden."),
        ({"password1": "corta", "password2": "corta"}, "password1", "corta"),
        ({"password1": "1234567890123", "password2": "1234567890123"}, "password1", "numérica"),
        ({"password1": "juanasoto123", "password2": "juanasoto123"}, "password1", "similar"),
    ],
)
def test_signup_bad_input(client, catalog, mailoutbox, overrides, field, message):
    response = _signup(client, **overrides)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in error for error in errors[field]), errors[field]
    assert 'class="error-summary"' in response.content.decode()
    assert User.objects.count() == 0
    assert mailoutbox == []
    assert response.context["form"]["full_name"].value() == overrides.get("full_name", "Juana Soto")


def test_resend_verification(client, catalog, mailoutbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:verify-resend"))
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert client.get(_link_path(mailoutbox[0])).status_code == 200
    # GET is not allowed (it would let a link send e-mails).
    assert client.get(reverse("accounts:verify-resend")).status_code == 405


def test_login_with_email_in_any_case_and_after_login_routing(client, catalog):
    citizen = UserFactory(email="ana@example.cl")
    response = client.post(reverse("accounts:login"),
                           {"username": " ANA@example.cl ", "password": "clave-segura-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:after-login")
    landing = client.get(response["Location"])
    assert landing["Location"] == MY_REQUESTS
    assert client.session["_auth_user_id"] == str(citizen.pk)

    staff = MembershipFactory(institution=catalog["institution"]).user
    other = Client()
    other.force_login(staff)
    assert other.get(reverse("accounts:after-login"))["Location"] == reverse("console:inbox")

    inactive_role = MembershipFactory(institution=catalog["institution"], is_active=False).user
    third = Client()
    third.force_login(inactive_role)
    assert third.get(reverse("accounts:after-login"))["Location"] == MY_REQUESTS


def test_login_wrong_password_is_a_spanish_error(client, catalog):
    UserFactory(email="ana@example.cl")
    response = client.post(reverse("accounts:login"),
                           {"username": "ana@example.cl", "password": "equivocada"})
    assert response.status_code == 200
    assert "El correo o la contraseña no son correctos" in _text(response)
    assert "_auth_user_id" not in client.session


def test_login_next_is_respected(client, catalog):
    UserFactory(email="ana@example.cl")
    response = client.post(reverse("accounts:login") + "?next=" + MY_REQUESTS,
                           {"username": "ana@example.cl", "password": "clave-segura-123",
                            "next": MY_REQUESTS})
    assert response["Location"] == MY_REQUESTS


def test_logout_is_post_only(client, catalog):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert "_auth_user_id" not in client.session


def test_pages_render(client, catalog):
    for name in ("accounts:login", "accounts:signup"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "style=" not in response.content.decode()
    client.force_login(UserFactory())
    assert client.get(SIGNUP)["Location"] == reverse("accounts:after-login")


def test_knowing_a_phone_number_does_not_expose_someone_elses_requests(client, catalog):
    victim_phone = "+56 9 8765 4321"
    victim_ticket = open_ticket(catalog, subject="Privado de la víctima", contact=ContactData(
        full_name="Víctima", email="victima@example.cl", phone=victim_phone))
    # The attacker files anonymously with a fresh e-mail and the victim's phone…
    open_ticket(catalog, subject="Cebo", contact=ContactData(
        full_name="Atacante", email="atacante@example.cl", phone=victim_phone))
    # …then registers that e-mail and verifies it (they own the mailbox).
    attacker = UserFactory(email="atacante@example.cl")
    assert client.get(reverse("accounts:verify",
                              args=[email_verification_token(user=attacker)])).status_code == 200
    client.force_login(attacker)
    assert victim_ticket.folio not in _text(client.get(MY_REQUESTS))
