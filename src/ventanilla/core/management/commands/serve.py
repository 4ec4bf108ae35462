"""``python -m ventanilla serve``: the whole platform in one command (``make run``).

Starts, as child processes in this process group:

- **web**: gunicorn serving ``ventanilla.wsgi`` (threads suit a small machine; scale out
  with more instances behind a load balancer, not with more code here);
- **worker**: ``python -m ventanilla worker``, which runs the task processes for every
  queue in ``TASKS`` (its own children: django-tasks' database worker, or RQ workers with
  ``TASKS_BACKEND=rq``; ``WORKER_PROCESSES`` of them) and the periodic jobs: the outbox
  replay (re-queues messages that lost their job) and the SLA sweep.

It refuses to start on a database that is not migrated, collects static files, prints
where everything is, forwards SIGINT/SIGTERM to its children and, when one child dies,
stops the others and exits non-zero (so a container orchestrator restarts the lot).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils.translation import gettext as _

from ventanilla.api.demo import DEMO_API_KEY
from ventanilla.core import demo

DATABASE_WORKER_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_WORKER_BACKEND = "django_tasks_rq.RQBackend"
STOP_TIMEOUT = 25  # seconds; longer than gunicorn's graceful timeout below
GRACEFUL_TIMEOUT = 15
SHM_DIR = "/dev/shm"  # noqa: S108 (a RAM-backed directory, as gunicorn recommends)


def default_port() -> int:
    try:
        return int(os.environ.get("PORT", "8000"))
    except ValueError:
        raise CommandError(_("La variable PORT debe ser un número.")) from None


def gunicorn_has_setting(name: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == name for setting in KNOWN_SETTINGS)


class Command(BaseCommand):
    help = "Start the web server and the background worker (tasks and periodic jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None,
                            help="Port to listen on (default: $PORT or 8000).")
        parser.add_argument("--host", default="0.0.0.0",  # noqa: S104 (a server binds all)
                            help="Address to bind (default 0.0.0.0).")
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                            help="gunicorn worker processes (default: $WEB_CONCURRENCY or 2).")
        parser.add_argument("--threads", type=int, default=4,
                            help="Threads per gunicorn worker (default 4).")
        parser.add_argument("--no-worker", action="store_true",
                            help="Start only the web server (no worker, no periodic jobs).")
        parser.add_argument("--replay-every", type=int, default=60,
                            help="Seconds between outbox replays (default 60).")
        parser.add_argument("--skip-collectstatic", action="store_true",
                            help="Do not run collectstatic before starting.")

    def handle(self, *args, **options):
        port = options["port"] if options["port"] is not None else default_port()
        if not 0 < port < 65536:
            raise CommandError(_("El puerto debe estar entre 1 y 65535."))
        if options["workers"] < 1 or options["threads"] < 1 or options["replay_every"] < 1:
            raise CommandError(_("--workers, --threads y --replay-every deben ser 1 o más."))
        self._check_database()
        if not options["skip_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        children = self._commands(**{**options, "port": port})
        self._banner(port, children)
        connection.close()  # the children open their own connections
        raise SystemExit(self._supervise(children))

    # --- before starting ------------------------------------------------------------------

    def _check_database(self) -> None:
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(_("No se pudo conectar a la base de datos: %(error)s")
                               % {"error": exc}) from None
        if plan:
            raise CommandError(_(
                "La base de datos no está al día (%(count)s migraciones pendientes). "
                "Ejecute primero: python -m ventanilla migrate"
            ) % {"count": len(plan)})

    def _commands(self, *, port, host, workers, threads, no_worker, replay_every,
                  **_options) -> dict[str, list[str]]:
        python = sys.executable
        web = [
            python, "-m", "gunicorn", "ventanilla.wsgi:application",
            "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--access-logfile", "-", "--error-logfile", "-",
            "--graceful-timeout", str(GRACEFUL_TIMEOUT), "--timeout", "60",
        ]
        if gunicorn_has_setting("control_socket_disable"):  # gunicorn >= 25.1
            # The control socket lives in $HOME: useless here, and two instances collide.
            web.append("--no-control-socket")
        if os.path.isdir(SHM_DIR):  # gunicorn's heartbeat files off slow or read-only disks
            web += ["--worker-tmp-dir", SHM_DIR]
        commands = {"web": web}
        if no_worker:
            return commands
        # One process: the task processes (as its children: db_worker or rqworker) and the
        # periodic jobs (outbox replay, SLA sweep).
        commands["worker"] = [python, "-m", "ventanilla", "worker",
                              "--replay-every", str(replay_every)]
        return commands

    @staticmethod
    def _tasks_backend() -> str:
        return settings.TASKS["default"]["BACKEND"]

    def _banner(self, port: int, children: dict[str, list[str]]) -> None:
        base = f"http://localhost:{port}"
        lines = [
            "",
            _("Ventanilla está en marcha:"),
            f"  {_('Portal ciudadano')}: {base}/",
            f"  {_('Consola de atención')}: {base}{reverse('console:inbox')}",
            f"  {_('Administración')}: {base}{reverse('admin:index')}",
            f"  {_('API (documentación)')}: {base}/api/docs/ · Open311: {base}/open311/v2/",
            f"  {_('Correo')}: {self._email_destination()}",
        ]
        if "worker" in children and self._tasks_backend() == DATABASE_WORKER_BACKEND:
            queues = ",".join(settings.TASKS["default"].get("QUEUES") or ["default"])
            lines.append("  " + _("Tareas: worker de base de datos (colas %(queues)s), "
                                  "reenvío de la bandeja de salida y revisión de plazos")
                         % {"queues": queues})
        elif "worker" in children and self._tasks_backend() == RQ_WORKER_BACKEND:
            queues = ",".join(settings.TASKS["default"].get("QUEUES") or ["default"])
            lines.append("  " + _("Tareas: workers de RQ sobre Redis (colas %(queues)s), "
                                  "reenvío de la bandeja de salida y revisión de plazos")
                         % {"queues": queues})
        elif "worker" in children:
            lines.append("  " + _("Tareas: backend %(backend)s, sin worker de base de datos; "
                                  "reenvío de la bandeja de salida y revisión de plazos")
                         % {"backend": self._tasks_backend()})
        else:
            lines.append("  " + _("Sin worker (--no-worker): los correos quedan en la bandeja "
                                  "de salida hasta que se inicie uno."))
        if self._demo_installed():
            lines += ["", _("Cuentas de demostración (contraseña: %(password)s):")
                      % {"password": demo.DEMO_PASSWORD}]
            width = max(len(str(label)) for label, _email in demo.DEMO_LOGINS)
            lines += [f"  {label!s:<{width}}  {email}" for label, email in demo.DEMO_LOGINS]
            lines.append("  " + _("El supervisor y el administrador del sistema activan una "
                                  "aplicación autenticadora (TOTP) en su primer ingreso."))
            lines += ["", _("Clave de API de demostración (canal api, lectura y escritura):"),
                      f"  {DEMO_API_KEY}",
                      "  curl -H 'Authorization: Api-Key " + DEMO_API_KEY + "' "
                      + f"{base}/api/v1/tickets/"]
        lines += ["", _("Detener con Ctrl+C."), ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    @staticmethod
    def _email_destination() -> str:
        backend = settings.EMAIL_BACKEND
        if backend.endswith("smtp.EmailBackend"):
            return _("servidor SMTP %(host)s:%(port)s") % {
                "host": settings.EMAIL_HOST or "localhost", "port": settings.EMAIL_PORT}
        if backend.endswith("console.EmailBackend"):
            return _("el registro del worker (no se envían; defina EMAIL_HOST para enviarlos)")
        return backend

    @staticmethod
    def _demo_installed() -> bool:
        from ventanilla.accounts.models import User
        from ventanilla.catalog.models import Institution

        return (Institution.objects.filter(slug=demo.DEMO_INSTITUTION_SLUG).exists()
                and User.objects.filter(email=demo.TRIAGE_EMAIL).exists())

    # --- running --------------------------------------------------------------------------

    def _supervise(self, commands: dict[str, list[str]]) -> int:
        received: list[int] = []

        def on_signal(signum, frame):
            received.append(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)

        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                         "ventanilla.settings")}
        children: dict[str, subprocess.Popen] = {}
        exit_code = 0
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, env=env)  # noqa: S603
            while not received:
                dead = next(((name, child.returncode) for name, child in children.items()
                             if child.poll() is not None), None)
                if dead:
                    self.stderr.write(_("El proceso «%(name)s» terminó (código %(code)s); "
                                        "se detienen los demás.")
                                      % {"name": dead[0], "code": dead[1]})
                    exit_code = 1
                    break
                time.sleep(0.2)
            if received:
                self.stdout.write(_("Señal %(signal)s recibida: deteniendo…")
                                  % {"signal": signal.Signals(received[0]).name})
        finally:
            self._stop(children)
        return exit_code

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(_("«%(name)s» no se detuvo a tiempo; se fuerza su término.")
                                  % {"name": name})
                child.kill()
                child.wait()
