import pytest

from tests.factories import make_catalog


@pytest.fixture
def other_catalog(db):
    """A second institution with its own catalog."""
    return make_catalog()
