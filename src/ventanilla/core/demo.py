"""Demo installation constants, shared by ``seed_demo`` (which creates them) and ``serve``
(which prints them in its banner). Demo accounts exist only where ``seed_demo`` was run."""

from django.utils.translation import gettext_lazy as _

# One password for every demo account; printed by `serve`. Never use it outside a demo.
DEMO_PASSWORD = "Ventanilla.Demo.2026"  # noqa: S105

DEMO_INSTITUTION_SLUG = "junaeb"
DEMO_SECOND_INSTITUTION_SLUG = "junji"

OPERATOR_EMAIL = "operador@demo.ventanilla.cl"
TRIAGE_EMAIL = "canal@demo.ventanilla.cl"
RESPONDER_EMAIL = "area.pae@demo.ventanilla.cl"
SUPERVISOR_EMAIL = "supervisor@demo.ventanilla.cl"
AUDITOR_EMAIL = "auditor@demo.ventanilla.cl"
SYSADMIN_EMAIL = "admin@demo.ventanilla.cl"
JUNJI_TRIAGE_EMAIL = "canal@junji.demo.ventanilla.cl"
CITIZEN_EMAIL = "persona@demo.ventanilla.cl"

# (what the account is for, login e-mail), in the order `serve` lists them.
DEMO_LOGINS = [
    (_("Operador (JUNAEB)"), OPERATOR_EMAIL),
    (_("Administrador del canal (JUNAEB)"), TRIAGE_EMAIL),
    (_("Área de respuesta PAE (JUNAEB)"), RESPONDER_EMAIL),
    (_("Supervisor (JUNAEB)"), SUPERVISOR_EMAIL),
    (_("Auditor / mandante (JUNAEB)"), AUDITOR_EMAIL),
    (_("Administrador del sistema y /admin/"), SYSADMIN_EMAIL),
    (_("Administrador del canal (JUNJI)"), JUNJI_TRIAGE_EMAIL),
    (_("Persona con cuenta verificada"), CITIZEN_EMAIL),
]

# Why seed_demo cancels the e-mails of its historic tickets (kept in the outbox row).
DEMO_CANCEL_REASON = "Datos de demostración: correo histórico no enviado."
