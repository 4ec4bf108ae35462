import pytest
from django.urls import reverse


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def request_url(catalog):
    return reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
