"""The demo integration key (known secret, printed by ``serve``): never use in production."""

from __future__ import annotations

from ventanilla.api.models import ApiKey
from ventanilla.api.services import KEY_PREFIX, api_key_create
from ventanilla.catalog.models import Channel

DEMO_API_KEY_PREFIX = "demo0000api0"
DEMO_API_KEY_SECRET = "demo-secret-ventanilla-no-usar-en-produccion"  # noqa: S105 (demo)
DEMO_API_KEY = f"{KEY_PREFIX}{DEMO_API_KEY_PREFIX}_{DEMO_API_KEY_SECRET}"


def seed_api_demo(institution) -> str:
    """Create (once) the demo integration key of ``institution``: read and write on the
    ``api`` channel. Returns the clear key. Only one institution can own the demo prefix."""
    if not ApiKey.objects.filter(prefix=DEMO_API_KEY_PREFIX).exists():
        api_key_create(institution=institution, name="Integración de demostración",
                       channels=Channel.objects.filter(code="api"), can_read=True,
                       can_write=True, prefix=DEMO_API_KEY_PREFIX, secret=DEMO_API_KEY_SECRET)
    return DEMO_API_KEY
