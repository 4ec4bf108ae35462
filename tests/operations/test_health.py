"""/healthz (readiness: database, queue, worker heartbeat), /healthz/live, and the uptime
probe the worker runs, against a live server and a stopped one."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from ventanilla.notifications.management.commands import worker as worker_module
from ventanilla.operations import services
from ventanilla.operations.models import UptimeProbe

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                              "QUEUES": ["default", "notifications"]}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database_queue(settings):
    settings.TASKS = DATABASE_TASKS


@pytest.mark.django_db
def test_healthy_installation_answers_200_with_every_check(client, database_queue):
    UptimeProbe.objects.create(checked_at=timezone.now() - timedelta(seconds=30), ok=True)
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok" and data["failing"] == []
    assert set(data["checks"]) == {"database", "queue", "worker"}
    assert data["checks"]["queue"]["backend"] == "database"
    assert 25 <= data["checks"]["worker"]["last_probe_age_s"] <= 60
    assert response["Cache-Control"].startswith("max-age=0")
    assert reverse("healthz") == "/healthz"


@pytest.mark.django_db
def test_a_stale_worker_is_degraded_not_unready_unless_strict(client, database_queue, settings):
    UptimeProbe.objects.create(
        checked_at=timezone.now() - timedelta(seconds=settings.HEALTH_WORKER_MAX_AGE + 5),
        ok=True)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["worker"]
    assert client.get("/healthz", {"strict": "1"}).status_code == 503


@pytest.mark.django_db
def test_a_queue_waiting_too_long_is_degraded(client, database_queue, settings):
    from django_tasks_db.models import DBTaskResult, get_date_max

    UptimeProbe.objects.create(checked_at=timezone.now(), ok=True)
    DBTaskResult.objects.create(args_kwargs={"args": [], "kwargs": {}}, task_path="x.y",
                                backend_name="default", run_after=get_date_max())
    DBTaskResult.objects.update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.HEALTH_QUEUE_MAX_AGE + 60))
    data = client.get("/healthz").json()
    assert data["checks"]["queue"]["status"] == "degraded"
    assert data["checks"]["queue"]["next_task_wait_s"] > settings.HEALTH_QUEUE_MAX_AGE


@pytest.mark.django_db
def test_database_ok_queue_broken_is_503_naming_the_queue(client, settings):
    # The Redis queue on a port where nothing listens.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                                  "QUEUES": ["default"]}}
    settings.TASK_QUEUES = ["default"]
    settings.RQ_QUEUES = {"default": {"URL": f"redis://127.0.0.1:{free_port()}/0"}}
    response = client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "fail" and data["failing"] == ["queue"]
    assert data["checks"]["database"]["status"] == "ok"
    assert data["checks"]["queue"] == {"status": "fail", "error": "ConnectionError"}
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_database_down_is_503_without_secrets(client, monkeypatch, database_queue):
    secret = "password=s3cr3t-db host=db.internal"

    def refuse(*args, **kwargs):
        raise OperationalError(f"connection failed: {secret}")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["failing"] == ["database", "queue"]
    assert data["checks"]["database"] == {"status": "fail", "error": "OperationalError"}
    body = response.content.decode()
    assert "s3cr3t" not in body and "db.internal" not in body and "Traceback" not in body


def test_liveness_touches_nothing(rf, monkeypatch):
    from ventanilla.core import views

    monkeypatch.setattr(views, "health_report", lambda **kw: pytest.fail("checked deps"))
    response = views.healthz_live(rf.get("/healthz/live"))
    assert response.status_code == 200 and json.loads(response.content) == {"status": "ok"}


# --- the probe --------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_probe_against_a_live_server_records_up(live_server, database_queue):
    UptimeProbe.objects.all().delete()
    assert services.uptime_probe(url=f"{live_server.url}/healthz") is None
    probe = UptimeProbe.objects.get()
    assert probe.ok and probe.failed_checks == "" and probe.web_ms is not None


@pytest.mark.django_db
def test_probe_against_a_stopped_server_records_the_web_down(database_queue):
    message = services.uptime_probe(url=f"http://127.0.0.1:{free_port()}/healthz")
    probe = UptimeProbe.objects.get()
    assert not probe.ok and probe.failed_checks == "web"
    assert "web" in message


def test_probe_reads_what_our_health_view_says_behind_a_503(monkeypatch):
    def fake(code, body):
        import io
        import urllib.error

        def urlopen(request, timeout):
            raise urllib.error.HTTPError(request.full_url, code, "x", {}, io.BytesIO(body))
        monkeypatch.setattr(services.urllib.request, "urlopen", urlopen)

    fake(503, b'{"status": "fail", "failing": ["database"]}')
    assert services.probe_web("http://x/healthz", timeout=1).failed == ("database",)
    fake(503, b"<html>Service Unavailable</html>")  # a proxy's page: the web is down
    assert services.probe_web("http://x/healthz", timeout=1).failed == ("web",)
    fake(500, b"{}")
    assert services.probe_web("http://x/healthz", timeout=1).failed == ("web",)
    assert services.probe_web("file:///etc/passwd", timeout=1).failed == ("web",)


@pytest.mark.django_db
def test_probes_taken_while_the_database_is_down_are_kept_and_written_later(monkeypatch,
                                                                            database_queue):
    monkeypatch.setattr(services, "probe_web", lambda url, timeout: services.WebResult((), 3))
    real_bulk_create = UptimeProbe.objects.bulk_create
    calls = []

    def failing_once(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 1:
            raise DatabaseError("down")
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(UptimeProbe.objects, "bulk_create", failing_once)
    services._unwritten.clear()
    now = timezone.now()
    services.uptime_probe(now=now - timedelta(minutes=1))
    assert UptimeProbe.objects.count() == 0
    services.uptime_probe(now=now)
    assert calls == [1, 2]
    assert list(UptimeProbe.objects.values_list("checked_at", flat=True)) == [
        now - timedelta(minutes=1), now]
    assert not services._unwritten


@pytest.mark.django_db
def test_old_probes_are_pruned(settings):
    now = timezone.now()
    UptimeProbe.objects.create(checked_at=now - timedelta(days=settings.UPTIME_RETENTION_DAYS,
                                                          minutes=1), ok=True)
    UptimeProbe.objects.create(checked_at=now - timedelta(days=1), ok=True)
    assert services.uptime_prune(now=now) == 1
    assert UptimeProbe.objects.count() == 1


def test_the_worker_runs_the_probe_when_configured(settings):
    settings.IMAP_HOST = ""
    settings.UPTIME_PROBE_EVERY = 0
    names = [job.name for job in worker_module.default_jobs(replay_every=60, sweep_every=0)]
    assert "uptime_probe" not in names
    settings.UPTIME_PROBE_EVERY = 60
    jobs = {job.name: job for job in worker_module.default_jobs(replay_every=60,
                                                                 sweep_every=0)}
    assert jobs["uptime_probe"].every == 60
    assert jobs["uptime_probe"].next_at > 0  # waits one interval: the web is starting too
