"""Text of automatic messages: an editable ``MessageTemplate`` or the built-in file.

The most specific active ``MessageTemplate`` applies (the institution's for the ticket's
type, then the institution's for any type); without one, the file
``notifications/email/<key>.txt`` (first line = subject). Editable templates are Django
template source rendered by a restricted engine: no ``{% load %}``, ``{% include %}``,
``{% extends %}`` or ``{% debug %}``, autoescaping off (plain text). They are validated when
saved in the admin (``template_check``); if one still fails when a message is sent, the file
template is used and the failure is logged: a bad template never breaks the change that
sends the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.notifications.models import MessageTemplate, TemplateKey

logger = logging.getLogger(__name__)

INVALID_MARK = "\x00sin-variable:%s\x00"


class RestrictedEngine(Engine):
    # Only the safe tags (template_library) and the standard filters: no loading of other
    # libraries, no access to other templates, no dump of the context.
    default_builtins = [
        "ventanilla.notifications.template_library",
        "django.template.defaultfilters",
    ]


def _engine(*, strict: bool = False) -> Engine:
    return RestrictedEngine(loaders=[], autoescape=False,
                            string_if_invalid=INVALID_MARK if strict else "")


_SEND_ENGINE = None


def _send_engine() -> Engine:
    global _SEND_ENGINE
    if _SEND_ENGINE is None:
        _SEND_ENGINE = _engine()
    return _SEND_ENGINE


# --- variables available per message ---------------------------------------------------------

TICKET_VARIABLES = {
    "ticket.folio": gettext_lazy("folio"),
    "ticket.contact_name": gettext_lazy("nombre de la persona"),
    "ticket.subject": gettext_lazy("asunto"),
    "ticket.detail": gettext_lazy("detalle"),
    "ticket.ticket_type.name": gettext_lazy("motivo"),
    "ticket.topic.full_name": gettext_lazy("tema"),
    "ticket.area.name": gettext_lazy("área"),
    "ticket.institution.name": gettext_lazy("institución"),
    "ticket.received_at": gettext_lazy("fecha de recepción (use |date:\"j \\d\\e F \\d\\e Y\")"),
    "ticket.due_at": gettext_lazy("plazo de la respuesta final"),
    "ticket.get_status_display": gettext_lazy("estado"),
    "ticket.root_cause": gettext_lazy("causa raíz (reclamos)"),
    "ticket.corrective_action": gettext_lazy("acción correctiva (reclamos)"),
    "site_url": gettext_lazy("dirección del sitio"),
    "tracking_url": gettext_lazy("dirección de la página de seguimiento"),
    "ticket_url": gettext_lazy("enlace personal al seguimiento de este folio (sin pedir correo)"),
}

EXTRA_VARIABLES: dict[str, dict[str, str]] = {
    TemplateKey.TICKET_RECEIVED: {},
    TemplateKey.TYPE1_ANSWER: {},
    TemplateKey.ANSWER_PLAN: {"body": gettext_lazy("texto de la respuesta")},
    TemplateKey.ANSWER_FINAL: {
        "body": gettext_lazy("texto de la respuesta"),
        "corrective_action": gettext_lazy("acción correctiva informada (reclamos)"),
        "survey_url": gettext_lazy("enlace a la encuesta (puede faltar: use {% if survey_url %})"),
    },
    TemplateKey.TICKET_REPLY: {"body": gettext_lazy("texto de la respuesta")},
    TemplateKey.TICKET_CLOSED: {
        "body": gettext_lazy("texto del cierre"),
        "survey_url": gettext_lazy("enlace a la encuesta (puede faltar: use {% if survey_url %})"),
    },
    TemplateKey.TICKET_REOPENED: {
        "reason": gettext_lazy("motivo de la reapertura"),
        "by_citizen": gettext_lazy("verdadero si la persona reabrió al responder"),
    },
    TemplateKey.TICKET_MERGED: {
        "into.folio": gettext_lazy("folio con el que se fusionó"),
        "into.subject": gettext_lazy("asunto de ese folio"),
    },
    TemplateKey.SLA_ALERT: {
        "stage_label": gettext_lazy("etapa (acuse, respuesta intermedia, final)"),
        "threshold": gettext_lazy("«at_risk» o «breached»"),
        "threshold_label": gettext_lazy("en riesgo / vencido"),
        "due": gettext_lazy("plazo de la etapa"),
    },
}


def variables_for(key: str) -> dict[str, str]:
    return {**TICKET_VARIABLES, **EXTRA_VARIABLES.get(key, {})}


def _sample_ticket(institution=None, ticket_type=None):
    """An unsaved ticket with made-up data (never a real person's) for checks and previews."""
    from ventanilla.catalog.models import Area, Channel, Institution, TicketType, Topic
    from ventanilla.tickets.models import Ticket

    institution = institution or Institution(name=_("Institución de ejemplo"),
                                             folio_prefix="EJM")
    if ticket_type is None and institution.pk:
        ticket_type = TicketType.objects.filter(institution=institution).order_by("pk").first()
    ticket_type = ticket_type or TicketType(institution=institution, name=_("Reclamo"))
    topic = (Topic.objects.filter(institution=institution).order_by("pk").first()
             if institution.pk else None) or Topic(institution=institution,
                                                    name=_("Tema de ejemplo"))
    now = timezone.now()
    return Ticket(
        institution=institution, folio=f"{institution.folio_prefix or 'EJM'}-{now.year}-000123",
        channel=Channel(code="web", name="Web"), ticket_type=ticket_type, topic=topic,
        area=Area(institution=institution, name=_("Área de ejemplo")),
        subject=_("Asunto de ejemplo"), detail=_("Detalle de ejemplo del requerimiento."),
        contact_name="Juana Soto", contact_email="juana.soto@example.cl",
        received_at=now, due_at=now + timedelta(days=10),
        root_cause=_("Causa raíz de ejemplo."),
        corrective_action=_("Acción correctiva de ejemplo."),
    )


def sample_context(key: str, *, institution=None, ticket_type=None) -> dict:
    ticket = _sample_ticket(institution, ticket_type)
    context = {"ticket": ticket, "body": _("Texto de ejemplo de la respuesta."),
               "survey_url": "", "reason": _("Motivo de ejemplo."), "by_citizen": False,
               "corrective_action": _("Acción correctiva de ejemplo."),
               "stage_label": _("Respuesta intermedia"), "threshold": "at_risk",
               "threshold_label": _("En riesgo"), "due": ticket.due_at}
    if key == TemplateKey.TICKET_MERGED:
        into = _sample_ticket(institution, ticket_type)
        into.folio = into.folio.replace("000123", "000100")
        context["into"] = into
    return {**context, **_site_context(), "ticket_url": _site_context()["tracking_url"]}


def _site_context() -> dict:
    site_url = settings.SITE_URL.rstrip("/")
    return {"site_url": site_url, "tracking_url": site_url + reverse("portal:track")}


# --- rendering ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    source: str  # "file" or "template:<id>"


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())[:250]


# Compiled editable templates of the send engine, by source: a template is rendered for
# every ticket of its type, parsing it each time would be wasted. Bounded: dropped when full.
_COMPILED: dict[str, object] = {}
_COMPILED_MAX = 512


def _compiled(engine: Engine, source: str):
    if engine is not _SEND_ENGINE:
        return engine.from_string(source)
    template = _COMPILED.get(source)
    if template is None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        template = _COMPILED[source] = engine.from_string(source)
    return template


def _render_source(engine: Engine, subject: str, body: str, context: dict) -> tuple[str, str]:
    subject_text = _compiled(engine, subject).render(Context(context, autoescape=False))
    body_text = _compiled(engine, body).render(Context(context, autoescape=False))
    return _clean_subject(subject_text), body_text.strip() + "\n"


def template_check(*, key: str, subject: str, body: str, institution=None,
                   ticket_type=None) -> dict[str, list[str]]:
    """Errors of an editable template, per field ("subject", "body"), in Spanish: syntax,
    variables not available for this message, or a failure while rendering a sample."""
    engine = _engine(strict=True)
    context = sample_context(key, institution=institution, ticket_type=ticket_type)
    known = variables_for(key)
    errors: dict[str, list[str]] = {}
    for field, source in (("subject", subject), ("body", body)):
        try:
            compiled = engine.from_string(source)
        except TemplateSyntaxError as exc:
            errors.setdefault(field, []).append(
                _("Error de sintaxis en la plantilla: %(error)s") % {"error": exc})
            continue
        try:
            with transaction.atomic():
                text = compiled.render(Context(context, autoescape=False))
        except Exception as exc:  # any failure of a sample render is reported, not raised
            errors.setdefault(field, []).append(
                _("La plantilla falla al generar un mensaje de ejemplo: %(error)s")
                % {"error": exc})
            continue
        missing = sorted({part.split("\x00", 1)[0]
                          for part in text.split("\x00sin-variable:")[1:]})
        if missing:
            errors.setdefault(field, []).append(
                _("Variables no disponibles en este mensaje: %(names)s. Disponibles: %(known)s.")
                % {"names": ", ".join(missing), "known": ", ".join(known)})
        elif field == "subject" and not _clean_subject(text):
            errors.setdefault(field, []).append(_("El asunto queda vacío."))
        elif field == "body" and not text.strip():
            errors.setdefault(field, []).append(_("El texto queda vacío."))
    return errors


def template_preview(template: MessageTemplate) -> Rendered:
    """The template rendered with sample data (admin preview); raises on failure."""
    context = sample_context(template.key, institution=template.institution,
                             ticket_type=template.ticket_type)
    subject, body = _render_source(_send_engine(), template.subject, template.body, context)
    return Rendered(subject=subject, body=body, source=f"template:{template.pk}")


def message_template_for(*, key: str, institution_id: int | None,
                         ticket_type_id: int | None) -> MessageTemplate | None:
    """The most specific active template: for the ticket type, then for any type."""
    if institution_id is None or key not in TemplateKey.values:
        return None
    scope = Q(ticket_type__isnull=True)
    if ticket_type_id is not None:
        scope |= Q(ticket_type_id=ticket_type_id)
    return (MessageTemplate.objects.filter(scope, institution_id=institution_id, key=key,
                                           is_active=True)
            .order_by(F("ticket_type").asc(nulls_last=True), "-updated_at", "-pk").first())


def render_message(*, template: str, context: dict, institution=None,
                   ticket=None) -> Rendered:
    """Subject and body for message ``template`` (a ``TemplateKey`` value or a file name)."""
    full_context = {**context, **_site_context()}
    if ticket is not None and getattr(ticket, "public_id", None):
        from ventanilla.portal.access_links import tracking_link_url

        full_context.setdefault("ticket_url", tracking_link_url(ticket))
    institution_id = getattr(institution, "pk", None) or getattr(ticket, "institution_id", None)
    ticket_type_id = getattr(ticket, "ticket_type_id", None)

    def lookup():
        return message_template_for(key=template, institution_id=institution_id,
                                    ticket_type_id=ticket_type_id)

    if getattr(institution, "config_version", None) is not None:
        # Cached per process and configuration version (``catalog.cache``).
        from ventanilla.catalog.cache import institution_config

        custom = institution_config(institution).get(("template", template, ticket_type_id),
                                                     lookup)
    else:
        custom = lookup()
    if custom is not None:
        try:
            # A savepoint: a query failing inside the template must not poison the
            # caller's transaction (PostgreSQL aborts it otherwise).
            with transaction.atomic():
                subject, body = _render_source(_send_engine(), custom.subject, custom.body,
                                               full_context)
            if subject and body.strip():
                return Rendered(subject=subject, body=body, source=f"template:{custom.pk}")
            logger.error("message template %s (%s) rendered empty; using the file template",
                         custom.pk, template)
        except Exception:
            logger.exception("message template %s (%s) failed; using the file template",
                             custom.pk, template)
    rendered = render_to_string(f"notifications/email/{template}.txt", full_context).lstrip()
    subject, _newline, body = rendered.partition("\n")
    return Rendered(subject=_clean_subject(subject), body=body.strip() + "\n", source="file")
