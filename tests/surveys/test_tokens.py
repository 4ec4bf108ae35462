"""The survey link's token: signed, short, and opened by nothing but a genuine token."""

from ventanilla.surveys.tokens import (
    SALT,
    invitation_id_from_token,
    invitation_token,
    invitation_url,
)


def test_token_round_trip_and_is_short():
    token = invitation_token(123456)
    assert invitation_id_from_token(token) == 123456
    assert len(token) <= 24  # it travels in SMS


def test_tampered_token_is_refused():
    payload, signature = invitation_token(41).split(".")
    other_payload = invitation_token(42).split(".")[0]
    assert invitation_id_from_token(f"{other_payload}.{signature}") is None
    flipped = signature[:-1] + ("B" if signature[-1] != "B" else "C")
    assert invitation_id_from_token(f"{payload}.{flipped}") is None
    assert invitation_id_from_token(f"{payload}.{signature}") == 41


def test_token_signed_with_another_salt_is_refused():
    assert SALT != "ventanilla.portal.tracking-link"
    forged = invitation_token(41, salt="ventanilla.portal.tracking-link")
    assert invitation_id_from_token(forged) is None
    assert invitation_id_from_token(invitation_token(41, salt=SALT)) == 41


def test_token_signed_with_another_secret_is_refused(settings):
    token = invitation_token(7)
    settings.SECRET_KEY = "otra-clave-" + "x" * 50
    assert invitation_id_from_token(token) is None


def test_garbage_tokens_are_refused():
    for garbage in ["", ".", "abc", "a.b.c", "ñ.xyz", "-1.abc", "x" * 500, "12.", ".sig"]:
        assert invitation_id_from_token(garbage) is None


def test_url_is_absolute_on_site_url(settings):
    settings.SITE_URL = "https://ventanilla.example.cl/"
    url = invitation_url(9)
    assert url.startswith("https://ventanilla.example.cl/encuesta/")
    assert invitation_id_from_token(url.rstrip("/").rsplit("/", 1)[1]) == 9
