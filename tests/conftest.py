import pytest

from tests.factories import make_catalog


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture
def catalog(db):
    return make_catalog()


@pytest.fixture(autouse=True)
def _force_login_is_fully_authenticated(monkeypatch):
    """``client.force_login`` / ``client.login`` are test shortcuts, not the login flow: mark
    such sessions as having passed the second factor and a recent re-authentication, so the
    console, admin and API tests meet only the rules they test. The real flow (login page,
    code page, /cuenta/confirmar/) keeps every check; tests/accounts exercise it.

    ``client.login`` goes through ``authenticate()`` with a request, as the login page does,
    because django-axes (lock-out) needs one."""
    from django.contrib.auth import authenticate
    from django.test import Client, RequestFactory

    from ventanilla.accounts import session_state

    def mark(client, user):
        session = client.session
        request = RequestFactory().get("/")
        request.session = session
        session_state.mark_session_authenticated(request, user=user,
                                                 second_factor_checked=True)
        session.save()

    original_force_login = Client.force_login

    def force_login(self, user, backend=None):
        original_force_login(self, user, backend)
        mark(self, user)

    def login(self, **credentials):
        request = RequestFactory().post("/cuenta/ingresar/")
        user = authenticate(request, **credentials)
        if user is None:
            return False
        self._login(user, getattr(user, "backend", None))
        mark(self, user)
        return True

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)
