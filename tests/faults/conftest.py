"""Fault-tolerance tests: a database restarted under load, a worker killed mid-delivery,
providers down for a while. The slow ones (real processes, a private PostgreSQL cluster)
carry the ``slow`` marker; they still run in ``make test``. Select them with ``-m slow``
or leave them out with ``-m "not slow"``."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts real processes (worker, gunicorn, a private PostgreSQL)")


from tests.notifications.conftest import smtp_server  # noqa: E402, F401 (a shared fixture)
