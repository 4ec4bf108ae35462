"""The authenticator secret is encrypted at rest, opens with an older key after rotation,
and never with a key that was not configured."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.factories import UserFactory
from ventanilla.accounts import secretbox, totp
from ventanilla.accounts.models import TotpDevice
from ventanilla.accounts.services import totp_begin_enrolment

pytestmark = pytest.mark.django_db


def _stored_column(device_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM accounts_totpdevice WHERE id = %s",
                       [device_id])
        return cursor.fetchone()[0]


def test_the_database_never_holds_the_secret_in_clear():
    device = totp_begin_enrolment(user=UserFactory())
    stored = _stored_column(device.pk)
    assert device.secret not in stored
    assert TotpDevice.objects.get(pk=device.pk).secret == device.secret
    # The secret read back still produces the codes the authenticator shows.
    assert len(totp.code_at(TotpDevice.objects.get(pk=device.pk).secret)) == 6


def test_rotation_keeps_old_secrets_readable_and_moves_them_to_the_new_key(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    token = secretbox.encrypt("JBSWY3DPEHPK3PXP")
    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    assert secretbox.decrypt(token) == "JBSWY3DPEHPK3PXP"
    rotated = secretbox.reencrypt(token)
    settings.SECRET_ENCRYPTION_KEYS = [new_key]
    assert secretbox.decrypt(rotated) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(secretbox.InvalidToken):
        secretbox.decrypt(token)


def test_a_copy_of_the_database_with_another_secret_key_does_not_open(settings):
    settings.SECRET_ENCRYPTION_KEYS = []
    token = secretbox.encrypt("JBSWY3DPEHPK3PXP")
    settings.SECRET_KEY = "another-installation-" + "x" * 40
    with pytest.raises(secretbox.InvalidToken):
        secretbox.decrypt(token)
