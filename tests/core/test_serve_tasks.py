"""What ``serve`` says it runs in the background, for each task backend."""

from io import StringIO

import pytest

from ventanilla.core.management.commands.serve import Command as Serve


def banner(settings, backend: str, *, worker: bool = True) -> str:
    settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": ["default", "notifications"]}}
    out = StringIO()
    command = Serve(stdout=out)
    children = {"web": ["gunicorn"], **({"worker": ["worker"]} if worker else {})}
    command._banner(8000, children)
    return out.getvalue()


@pytest.mark.django_db
def test_the_banner_names_the_task_processes_of_each_backend(settings):
    settings.LANGUAGE_CODE = "es-cl"
    assert "worker de base de datos (colas default,notifications)" in banner(
        settings, "django_tasks_db.DatabaseBackend")
    assert "workers de RQ sobre Redis (colas default,notifications)" in banner(
        settings, "django_tasks_rq.RQBackend")
    assert "Sin worker (--no-worker)" in banner(
        settings, "django_tasks_rq.RQBackend", worker=False)
