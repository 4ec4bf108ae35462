"""Staff authentication end to end through the real pages: password policy, TOTP login and
enrolment, recovery codes, lock-out, session expiry, re-authentication, admin login."""

from __future__ import annotations

import html
import re
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import InstitutionFactory, MembershipFactory, UserFactory
from ventanilla.accounts import session_state, totp
from ventanilla.accounts.models import (
    InstitutionSecurityPolicy,
    RecoveryCode,
    Role,
    TotpDevice,
    User,
)
from ventanilla.accounts.reauth import REAUTH_SESSION_KEY
from ventanilla.accounts.services import totp_begin_enrolment, totp_confirm_enrolment, user_unlock
from ventanilla.core.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "clave-segura-123"
LOGIN = "/cuenta/ingresar/"
CODE = "/cuenta/ingresar/codigo/"
CONSOLE = "/consola/"
MY_REQUESTS = reverse("portal:my-requests")


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _staff(role=Role.SUPERVISOR, email="sup@example.cl", institution=None):
    user = UserFactory(email=email)
    MembershipFactory(user=user, role=role,
                      institution=institution or InstitutionFactory())
    return user


def _enrol(user) -> str:
    device = totp_begin_enrolment(user=user)
    # The confirmation uses the previous step, so the current one is still free for login.
    totp_confirm_enrolment(user=user, code=totp.code_at(device.secret, time.time() - 30))
    return device.secret


def _login(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


# --- Password policy -----------------------------------------------------------------------


def test_staff_need_twelve_characters_citizens_ten():
    staff = _staff(role=Role.OPERATOR)
    citizen = UserFactory(email="vecina@example.cl")
    password_validation.validate_password("tortuga-azul", user=citizen)  # 12 is fine
    password_validation.validate_password("tortugazul", user=citizen)  # 10 for citizens
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password("tortugazul", user=staff)
    assert "al menos 12 caracteres" in " ".join(exc.value.messages)


@pytest.mark.parametrize("password", [
    "Sup-Example-2026!x",       # e-mail local part
    "ana-perez-secreta-99",     # first name (≥ 4 letters) — "Ana" is too short, Pérez is not
    "JUNAEB-clave-2026!",       # the institution's acronym
    "mi-ventanilla-2026!",      # the product's name
])
def test_passwords_with_personal_information_are_refused(password):
    institution = InstitutionFactory(short_name="JUNAEB", slug="junaeb")
    user = UserFactory(email="sup@example.cl", first_name="Ana", last_name="Pérez")
    MembershipFactory(user=user, institution=institution, role=Role.SUPERVISOR)
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password(password, user=user)
    assert any("no puede contener" in message for message in exc.value.messages)


def test_password_change_logs_out_other_sessions_and_keeps_this_one(client):
    user = UserFactory(email="vecina@example.cl")
    other = Client()
    other.force_login(user)
    assert other.get(MY_REQUESTS).status_code == 200
    client.force_login(user)
    page = client.get("/cuenta/clave/")
    assert page.status_code == 200
    response = client.post("/cuenta/clave/", {"new_password1": "otra-clave-larga-77",
                                               "new_password2": "otra-clave-larga-77"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("otra-clave-larga-77")
    assert user.password_changed_at is not None
    assert AuditEvent.objects.filter(action="user.password_changed",
                                     object_id=str(user.pk)).count() == 1
    assert client.get(MY_REQUESTS).status_code == 200  # this session stays
    assert other.get(MY_REQUESTS)["Location"].startswith(LOGIN)  # the other one ended


def test_password_change_refuses_same_password_mismatch_and_weak(client):
    user = UserFactory(email="vecina@example.cl")
    client.force_login(user)
    for new1, new2, message in [
        (PASSWORD, PASSWORD, "distinta de la actual"),
        ("otra-clave-larga-77", "otra-clave-larga-78", "no coinciden"),
        ("12345678901234", "12345678901234", "numérica"),
    ]:
        response = client.post("/cuenta/clave/", {"new_password1": new1, "new_password2": new2})
        assert response.status_code == 200
        assert message in _text(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_recent_authentication(client):
    user = UserFactory(email="vecina@example.cl")
    client.force_login(user)
    session = client.session
    session[REAUTH_SESSION_KEY] = int(time.time()) - 3600
    session.save()
    response = client.post("/cuenta/clave/", {"new_password1": "otra-clave-larga-77",
                                               "new_password2": "otra-clave-larga-77"},
                           HTTP_REFERER="http://testserver/cuenta/clave/")
    assert response.status_code == 303
    assert response["Location"] == "/cuenta/confirmar/?next=%2Fcuenta%2Fclave%2F"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # not changed, and the POST is not replayed
    page = client.get(response["Location"])
    assert "Confirme que es usted" in _text(page)
    wrong = client.post("/cuenta/confirmar/", {"password": "no-es-esta", "next": "/cuenta/clave/"})
    assert "La contraseña no es correcta" in _text(wrong)
    ok = client.post("/cuenta/confirmar/", {"password": PASSWORD, "next": "/cuenta/clave/"})
    assert ok["Location"] == "/cuenta/clave/"
    assert client.get("/cuenta/clave/").status_code == 200


def test_reauth_next_must_be_on_this_site(client):
    user = UserFactory(email="vecina@example.cl")
    client.force_login(user)
    response = client.post("/cuenta/confirmar/",
                           {"password": PASSWORD, "next": "https://evil.example/robar"})
    assert response["Location"] == reverse("accounts:after-login")


def test_admin_reset_forces_a_new_password_at_login(client):
    user = _staff(role=Role.OPERATOR, email="op@example.cl")
    admin_user = UserFactory(email="root@example.cl", is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(admin_user)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "temporal-larga-2026", "password2": "temporal-larga-2026",
         "usable_password": "true"},
    )
    assert response.status_code == 302, _text(response)[:2000]
    user.refresh_from_db()
    assert user.must_change_password
    assert AuditEvent.objects.filter(action="user.password_reset_by_admin").exists()

    response = _login(client, "op@example.cl", "temporal-larga-2026")
    assert response["Location"].startswith("/cuenta/clave/")
    # Nothing else opens until the password is changed.
    assert client.get(CONSOLE)["Location"].startswith("/cuenta/clave/")
    client.post("/cuenta/clave/", {"new_password1": "propia-clave-larga-1",
                                   "new_password2": "propia-clave-larga-1"})
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get(CONSOLE).status_code in (200, 302)
    assert not client.get(CONSOLE).get("Location", "").startswith("/cuenta/clave/")


# --- Second factor -------------------------------------------------------------------------


def test_supervisor_login_needs_password_then_code_and_a_code_is_used_once(client):
    user = _staff()
    secret = _enrol(user)
    response = _login(client, user.email, next="/consola/")
    assert response["Location"] == CODE
    # Not logged in between the two steps.
    assert client.get(CONSOLE)["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session

    wrong = client.post(CODE, {"code": "000000"})
    assert "no es correcto" in _text(wrong)
    code = totp.code_at(secret)
    ok = client.post(CODE, {"code": code})
    assert ok["Location"] == "/consola/"
    assert client.get(CONSOLE).status_code == 200

    # The same code cannot open a second session (replay within its 30 seconds).
    other = Client()
    _login(other, user.email)
    replay = other.post(CODE, {"code": code})
    assert replay.status_code == 200 and "ya fue usado" in _text(replay)


def test_recovery_code_logs_in_once(client):
    user = _staff()
    device = totp_begin_enrolment(user=user)
    codes = totp_confirm_enrolment(user=user, code=totp.code_at(device.secret))
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert not stored & set(codes)  # only hashes are stored

    _login(client, user.email)
    response = client.post(CODE, {"code": codes[0].lower()})
    assert response.status_code == 302
    assert client.get(CONSOLE).status_code == 200
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 9

    other = Client()
    _login(other, user.email)
    assert other.post(CODE, {"code": codes[0]}).status_code == 200  # spent


def test_supervisor_without_authenticator_must_enrol_before_the_console(client):
    user = _staff()
    response = _login(client, user.email, next="/consola/")
    assert response["Location"].startswith("/cuenta/segundo-factor/")
    # Console, admin and the session API are closed until enrolment.
    assert client.get(CONSOLE)["Location"].startswith("/cuenta/segundo-factor/")
    api = client.get("/api/v1/tickets/")
    assert api.status_code == 403

    page = client.get("/cuenta/segundo-factor/?next=/consola/")
    body = page.content.decode()
    svg = body[body.index("<svg"):body.index("</svg>")]
    assert page.status_code == 200 and "<script>" not in body  # QR drawn on the server
    assert "style=" not in svg and "<script" not in svg
    secret = TotpDevice.objects.get(user=user).secret
    assert totp.format_secret(secret) in body
    # Reloading keeps the secret already scanned.
    client.get("/cuenta/segundo-factor/")
    assert TotpDevice.objects.get(user=user).secret == secret

    wrong = client.post("/cuenta/segundo-factor/", {"code": "123", "next": "/consola/"})
    assert "no es correcto" in _text(wrong)
    assert TotpDevice.objects.get(user=user).confirmed_at is None
    done = client.post("/cuenta/segundo-factor/",
                       {"code": totp.code_at(secret), "next": "/consola/"})
    codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", done.content.decode())
    assert len(codes) == 10
    assert client.get(CONSOLE).status_code == 200
    # The secret is never shown again.
    assert totp.format_secret(secret) not in client.get("/cuenta/segundo-factor/",
                                                         follow=True).content.decode()
    assert AuditEvent.objects.filter(action="user.second_factor_enabled").count() == 1


def test_operator_needs_no_second_factor_unless_the_institution_says_so(client):
    institution = InstitutionFactory()
    user = _staff(role=Role.OPERATOR, email="op@example.cl", institution=institution)
    _login(client, user.email)
    assert client.get(CONSOLE).status_code == 200

    InstitutionSecurityPolicy.objects.create(institution=institution,
                                             totp_required_for_all_staff=True)
    other = Client()
    response = _login(other, user.email, next="/consola/")
    assert response["Location"].startswith("/cuenta/segundo-factor/")
    assert other.get(CONSOLE)["Location"].startswith("/cuenta/segundo-factor/")


def test_citizen_login_is_one_step(client):
    UserFactory(email="vecina@example.cl")
    response = _login(client, "vecina@example.cl")
    assert response["Location"] == reverse("accounts:after-login")
    assert client.get(MY_REQUESTS).status_code == 200


def test_sensitive_settings_need_password_and_code_again(client):
    user = _staff()
    secret = _enrol(user)
    _login(client, user.email)
    client.post(CODE, {"code": totp.code_at(secret)})
    session = client.session
    session[REAUTH_SESSION_KEY] = int(time.time()) - 3600
    session.save()
    response = client.post("/cuenta/segundo-factor/desactivar/",
                           HTTP_REFERER="http://testserver/cuenta/seguridad/")
    assert response["Location"] == "/cuenta/confirmar/?next=%2Fcuenta%2Fseguridad%2F"
    assert TotpDevice.objects.filter(user=user).exists()
    page = client.get(response["Location"])
    assert 'name="code"' in page.content.decode()
    no_code = client.post("/cuenta/confirmar/", {"password": PASSWORD, "code": "000000",
                                                 "next": "/cuenta/seguridad/"})
    assert "no es correcto" in _text(no_code)
    ok = client.post("/cuenta/confirmar/", {"password": PASSWORD,
                                            "code": totp.code_at(secret, time.time() + 30),
                                            "next": "/cuenta/seguridad/"})
    assert ok["Location"] == "/cuenta/seguridad/"
    # A supervisor who disables is sent to enrol a new one at once.
    response = client.post("/cuenta/segundo-factor/desactivar/")
    assert response["Location"] == "/cuenta/segundo-factor/"
    assert not TotpDevice.objects.filter(user=user).exists()
    assert client.get(CONSOLE)["Location"].startswith("/cuenta/segundo-factor/")


def test_admin_resets_a_lost_second_factor_with_audit(client):
    user = _staff()
    _enrol(user)
    admin_user = UserFactory(email="root@example.cl", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post("/admin/accounts/user/", {
        "action": "reset_second_factor", "_selected_action": [user.pk]})
    assert response.status_code == 302
    assert not TotpDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="user.second_factor_reset")
    assert event.actor == admin_user and event.object_id == str(user.pk)


# --- Admin login ---------------------------------------------------------------------------


def test_admin_login_goes_through_the_same_login_and_second_factor(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow["Location"].startswith(LOGIN)
    assert "next=%2Fadmin%2F" in follow["Location"]

    UserFactory(email="root@example.cl", is_staff=True, is_superuser=True)
    response = _login(client, "root@example.cl", next="/admin/")
    assert response["Location"].startswith("/cuenta/segundo-factor/")
    assert client.get("/admin/")["Location"].startswith("/cuenta/segundo-factor/")


def test_admin_login_for_someone_without_admin_access_does_not_loop(client):
    citizen = UserFactory(email="vecina@example.cl")
    client.force_login(citizen)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 403


# --- Lock-out ------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_from_that_address(client):
    user = UserFactory(email="vecina@example.cl")
    for _ in range(4):
        response = _login(client, "Vecina@Example.cl", "mala-clave")
        assert response.status_code == 200
        assert "no son correctos" in _text(response)
    response = _login(client, "vecina@example.cl", "mala-clave")
    assert response.status_code == 429
    assert "demasiados intentos" in _text(response).lower()
    # Even the right password is refused while locked.
    locked = _login(client, "vecina@example.cl")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="user.locked_out", object_id=str(user.pk)).count() == 1
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert _login(other, "vecina@example.cl").status_code == 302

    admin_user = UserFactory(email="root@example.cl", is_staff=True, is_superuser=True)
    assert user_unlock(user=user, actor=admin_user) >= 1
    assert _login(client, "vecina@example.cl").status_code == 302
    assert AuditEvent.objects.filter(action="user.unlocked").exists()


def test_lockout_page_is_the_same_for_accounts_that_do_not_exist(client):
    for _ in range(4):
        _login(client, "nadie@example.cl", "mala-clave")
    response = _login(client, "nadie@example.cl", "mala-clave")
    assert response.status_code == 429
    UserFactory(email="vecina@example.cl")
    other = Client(REMOTE_ADDR="10.0.0.7")
    for _ in range(4):
        _login(other, "vecina@example.cl", "mala-clave")
    real = _login(other, "vecina@example.cl", "mala-clave")
    assert real.status_code == 429
    def without_token(response):
        return re.sub(r'value="[A-Za-z0-9]{64}"', "", _text(response))

    assert without_token(real) == without_token(response)


def test_wrong_codes_count_towards_the_lockout(client):
    user = _staff()
    secret = _enrol(user)
    _login(client, user.email)
    for _ in range(4):
        assert client.post(CODE, {"code": "000000"}).status_code == 200
    assert client.post(CODE, {"code": "000000"}).status_code == 429
    # The right code no longer helps.
    assert client.post(CODE, {"code": totp.code_at(secret)}).status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=user.email).exists()


def test_many_accounts_from_one_address_are_throttled(client, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 8
    for number in range(7):
        assert _login(client, f"p{number}@example.cl", "mala-clave").status_code == 200
    assert _login(client, "p99@example.cl", "mala-clave").status_code == 429


# --- Session expiry ------------------------------------------------------------------------


def _age_session(client, **keys):
    session = client.session
    for key, seconds_ago in keys.items():
        session[key] = int(time.time()) - seconds_ago
    session.save()


def test_staff_session_ends_after_thirty_idle_minutes(client, settings):
    settings.STAFF_SESSION_IDLE_TIMEOUT = 1800
    user = _staff(role=Role.OPERATOR, email="op@example.cl")
    client.force_login(user)
    _age_session(client, **{session_state.LAST_SEEN_KEY: 1700})
    assert client.get(CONSOLE).status_code == 200  # 28 minutes: still in, clock refreshed
    assert time.time() - client.session[session_state.LAST_SEEN_KEY] < 5
    _age_session(client, **{session_state.LAST_SEEN_KEY: 1801})
    response = client.get(CONSOLE)
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_citizen_idle_timeout_is_longer(client, settings):
    user = UserFactory(email="vecina@example.cl")
    client.force_login(user)
    _age_session(client, **{session_state.LAST_SEEN_KEY: 1801})
    assert client.get(MY_REQUESTS).status_code == 200


def test_session_has_an_absolute_maximum(client, settings):
    user = UserFactory(email="vecina@example.cl")
    client.force_login(user)
    _age_session(client, **{session_state.AUTH_AT_KEY: settings.SESSION_ABSOLUTE_MAX_AGE + 1})
    assert client.get(MY_REQUESTS)["Location"].startswith(LOGIN)


def test_login_rotates_the_session_key(client):
    UserFactory(email="vecina@example.cl")
    client.get(LOGIN)
    client.session.save()
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    _login(client, "vecina@example.cl")
    assert client.cookies["sessionid"].value != before


# --- Re-authentication decorator -----------------------------------------------------------


def test_require_recent_auth_decorator(rf, settings):
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from ventanilla.accounts.reauth import mark_recent_auth, require_recent_auth

    @require_recent_auth
    def view(request):
        return HttpResponse("ok")

    user = UserFactory()
    request = rf.get("/consola/exportar/?formato=csv")
    request.user, request.session = user, SessionStore()
    response = view(request)
    assert response.status_code == 303
    assert response["Location"] == (
        "/cuenta/confirmar/?next=%2Fconsola%2Fexportar%2F%3Fformato%3Dcsv")
    htmx = rf.post("/consola/exportar/", HTTP_HX_REQUEST="true")
    htmx.user, htmx.session = user, request.session
    assert view(htmx)["HX-Redirect"].startswith("/cuenta/confirmar/")
    mark_recent_auth(request)
    assert view(request).content == b"ok"
    settings.REAUTH_MAX_AGE = 0
    request.session[REAUTH_SESSION_KEY] = int(time.time()) - 5
    assert view(request).status_code == 303
    # A timestamp from the future is not trusted.
    settings.REAUTH_MAX_AGE = 600
    request.session[REAUTH_SESSION_KEY] = int(time.time()) + 3600
    assert view(request).status_code == 303


def test_user_model_keeps_one_device(client):
    user = _staff()
    _enrol(user)
    with pytest.raises(ValidationError):
        totp_begin_enrolment(user=user)
    assert TotpDevice.objects.filter(user=user).count() == 1
    assert User.objects.get(pk=user.pk).totp_device.is_confirmed
