"""Tickets, their timeline, attachments, folio counters and the interaction log.

Only ``tickets.services`` writes these tables; see ARCHITECTURE.md.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Urgency(models.TextChoices):
    LOW = "low", _("Baja")
    MEDIUM = "medium", _("Media")
    HIGH = "high", _("Alta")


class Status(models.TextChoices):
    NEW = "new", _("Recibido")
    IN_PROGRESS = "in_progress", _("En proceso")
    WAITING_CITIZEN = "waiting_citizen", _("Esperando a la persona")
    CLOSED = "closed", _("Cerrado")


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_CITIZEN)


class ResponseStage(models.TextChoices):
    """The three answers of the Type 2 workflow; ``done`` once the final one is sent."""

    ACK = "ack", _("Acuse de recibo")
    PLAN = "plan", _("Respuesta intermedia")
    FINAL = "final", _("Respuesta final")
    DONE = "done", _("Respondido")


class TriageStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("No requiere")
    PENDING = "pending", _("Por validar")
    CONFIRMED = "confirmed", _("Validado")


class FolioCounter(models.Model):
    """Last folio number issued per institution and year. Incremented under a row lock,
    so concurrent intake never hands out the same number twice."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "year"], name="folio_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.institution_id}/{self.year}: {self.last_value}"


class Ticket(models.Model):
    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.PROTECT, related_name="tickets"
    )
    folio = models.CharField(_("folio"), max_length=24, unique=True)
    # Public, unguessable reference for links in e-mails (folios are sequential).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    ticket_type = models.ForeignKey(
        "catalog.TicketType", on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("motivo"),
    )
    topic = models.ForeignKey(
        "catalog.Topic", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("tema")
    )
    requester_type = models.ForeignKey(
        "catalog.RequesterType", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("tipo de usuario"),
    )
    organization = models.ForeignKey(
        "catalog.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("establecimiento"),
    )
    region = models.ForeignKey(
        "core.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("región"),
    )
    comuna = models.ForeignKey(
        "core.Comuna", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("comuna"),
    )
    urgency = models.CharField(_("urgencia"), max_length=10, choices=Urgency.choices,
                               default=Urgency.MEDIUM)
    subject = models.CharField(_("asunto"), max_length=200)
    detail = models.TextField(_("detalle"))

    citizen = models.ForeignKey(
        "citizens.Citizen", on_delete=models.PROTECT, related_name="tickets"
    )
    # Contact details as given on this request: answers go where the person asked,
    # and tracking checks the e-mail given here.
    contact_name = models.CharField(_("nombre"), max_length=200)
    contact_email = models.EmailField(_("correo electrónico"), blank=True)
    contact_phone = models.CharField(_("teléfono"), max_length=30, blank=True)
    contact_rut = models.CharField(_("RUT"), max_length=12, blank=True)
    # Where answers and notices go: blank means e-mail to ``contact_email``; a ticket that
    # came in by WhatsApp or SMS is answered there (``notifications.services.
    # outbox_enqueue_for_ticket``). ``reply_address`` is the wa_id, phone digits or page-scoped id.
    reply_channel = models.CharField(_("canal de respuesta"), max_length=20, blank=True)
    reply_address = models.CharField(_("dirección de respuesta"), max_length=254, blank=True)

    area = models.ForeignKey(
        "catalog.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("área"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_tickets", verbose_name=_("responsable"),
    )
    status = models.CharField(_("estado"), max_length=20, choices=Status.choices,
                              default=Status.NEW)
    priority = models.CharField(_("prioridad"), max_length=10, choices=Urgency.choices,
                                default=Urgency.MEDIUM)
    # Type 2 tickets wait in the triage queue until the channel administrator confirms
    # (or corrects) the area the routing rules chose.
    triage_status = models.CharField(_("triaje"), max_length=15, choices=TriageStatus.choices,
                                     default=TriageStatus.NOT_REQUIRED)
    triage_confirmed_at = models.DateTimeField(_("triaje validado el"), null=True, blank=True)
    triage_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    stage = models.CharField(_("etapa de respuesta"), max_length=10,
                             choices=ResponseStage.choices, default=ResponseStage.ACK)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets",
        verbose_name=_("fusionado en"),
    )
    root_cause = models.TextField(_("causa raíz"), blank=True)
    corrective_action = models.TextField(_("acción correctiva"), blank=True)

    # Every deadline is measured from received_at, stamped by the platform on entry, and
    # stored per stage (computed by the sla app from the applicable SlaPolicy).
    received_at = models.DateTimeField(_("recibido el"), default=timezone.now)
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("política de plazos"),
    )
    ack_due_at = models.DateTimeField(_("plazo del acuse"), null=True, blank=True)
    plan_due_at = models.DateTimeField(_("plazo de la respuesta intermedia"), null=True, blank=True)
    due_at = models.DateTimeField(_("plazo de la respuesta final"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acuse enviado el"), null=True, blank=True)
    plan_answered_at = models.DateTimeField(_("respuesta intermedia el"), null=True, blank=True)
    final_answered_at = models.DateTimeField(_("respuesta final el"), null=True, blank=True)
    first_answered_at = models.DateTimeField(_("primera respuesta el"), null=True, blank=True)
    # The deadline of the current stage and the moment it becomes "at risk": kept on the
    # row so the inbox filters and the sweep are index range scans.
    next_due_at = models.DateTimeField(_("próximo plazo"), null=True, blank=True)
    at_risk_at = models.DateTimeField(_("en riesgo desde"), null=True, blank=True)
    # Waiting on the citizen stops the clock; deadlines move by the paused time on resume.
    paused_at = models.DateTimeField(_("en pausa desde"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cerrado el"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado el"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text=_("Funcionario que ingresó el requerimiento por la persona."),
    )
    # The citizen account that filed it while logged in. "My requests" lists these and the
    # ones sent with the account's verified e-mail, never tickets that merely share a RUT or
    # phone with the account's person record (anyone can type those into a form).
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="filed_tickets",
    )
    # A client-chosen key so that a retried submission returns the same ticket.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "idempotency_key"], name="ticket_idempotency_unique",
                condition=models.Q(idempotency_key__isnull=False),
            )
        ]
        indexes = [
            # The dashboard rollup refresh looks for tickets changed since its watermark.
            models.Index(fields=["updated_at"], name="ticket_updated"),
            models.Index(fields=["institution", "-received_at"], name="ticket_inst_recv"),
            models.Index(
                fields=["institution", "status", "-received_at"], name="ticket_inst_status"
            ),
            models.Index(fields=["institution", "area", "status"], name="ticket_inst_area"),
            models.Index(fields=["institution", "status", "due_at"], name="ticket_inst_due"),
            models.Index(
                fields=["institution", "status", "next_due_at"], name="ticket_inst_next_due"
            ),
            models.Index(fields=["status", "at_risk_at"], name="ticket_sweep_risk"),
            models.Index(fields=["institution", "triage_status", "-received_at"],
                         name="ticket_inst_triage"),
            models.Index(fields=["contact_rut"], name="ticket_contact_rut"),
            models.Index(fields=["contact_email"], name="ticket_contact_email"),
            # Folio lookups are case-insensitive (``folio__iexact`` is UPPER(folio) = …): without
            # this a search or an API lookup by folio reads the whole table.
            models.Index(Upper("folio"), name="ticket_folio_upper"),
            # The inbox's default page (open tickets, newest first) and a responder's (their
            # area's open tickets): ordered scans that stop after one page. The IN list of the
            # status filter cannot walk ``ticket_inst_status`` in order (three ranges).
            models.Index(fields=["institution", "-received_at", "-id"], name="ticket_open_recv",
                         condition=models.Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["institution", "area", "-received_at", "-id"],
                         name="ticket_open_area_recv",
                         condition=models.Q(status__in=OPEN_STATUSES)),
        ]
        verbose_name = _("requerimiento")
        verbose_name_plural = _("requerimientos")

    def __str__(self) -> str:
        return self.folio

    @property
    def reply_route_label(self) -> str:
        """Where answers go, for staff: "WhatsApp · 56912345678", "" when nowhere."""
        from ventanilla.notifications.models import CHANNEL_LABELS

        channel = self.reply_channel or "email"
        address = self.reply_address or (self.contact_email if channel == "email" else "")
        if not address:
            return ""
        return f"{CHANNEL_LABELS.get(channel, channel)} · {address}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        """The current stage's deadline or the final one has passed (clock not paused)."""
        now = timezone.now()
        passed = any(d and d < now for d in (self.next_due_at, self.due_at))
        return bool(self.is_open and not self.paused_at and passed)

    @property
    def is_at_risk(self) -> bool:
        now = timezone.now()
        return bool(self.is_open and not self.paused_at and self.at_risk_at
                    and self.at_risk_at <= now and not self.is_overdue)


class EventKind(models.TextChoices):
    CREATED = "created", _("Ingreso")
    STATUS_CHANGED = "status_changed", _("Cambio de estado")
    AREA_CHANGED = "area_changed", _("Derivación")
    NOTE = "note", _("Nota interna")
    REPLY = "reply", _("Respuesta")
    CITIZEN_MESSAGE = "citizen_message", _("Mensaje de la persona")
    NOTIFICATION = "notification", _("Notificación enviada")
    TRIAGE_CONFIRMED = "triage_confirmed", _("Triaje validado")
    ASSIGNED = "assigned", _("Asignación")
    ANSWER_DRAFTED = "answer_drafted", _("Borrador de respuesta")
    ANSWER_SUBMITTED = "answer_submitted", _("Respuesta enviada a aprobación")
    ANSWER_APPROVED = "answer_approved", _("Respuesta aprobada")
    ANSWER_REJECTED = "answer_rejected", _("Respuesta devuelta")
    LINKED = "linked", _("Vinculación")
    MERGED = "merged", _("Fusión")
    SPLIT = "split", _("División")
    SLA_ALERT = "sla_alert", _("Alerta de plazo")
    SLA_PAUSED = "sla_paused", _("Plazo en pausa")
    SLA_RESUMED = "sla_resumed", _("Plazo reanudado")


class TicketEvent(models.Model):
    """One entry of the timeline. Append-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Public events are shown to the citizen when tracking; internal ones only to staff.
    is_public = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]
        verbose_name = _("evento")
        verbose_name_plural = _("eventos")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name never comes from the uploader (see tickets.uploads).
    now = timezone.now()
    folder = f"attachments/{instance.ticket.institution_id}/{now:%Y/%m}"
    return f"{folder}/{uuid.uuid4().hex}.{instance.extension}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("adjunto")
        verbose_name_plural = _("adjuntos")

    def __str__(self) -> str:
        return self.original_name


class InteractionKind(models.TextChoices):
    TICKET_OPENED = "ticket_opened", _("Ingreso de requerimiento")
    MESSAGE = "message", _("Mensaje")
    TRACKING = "tracking", _("Consulta de estado")
    SELF_SERVICE = "self_service", _("Autoatención")
    # An assisted contact (phone, counter) solved on the spot, with or without a ticket.
    ATTENDED = "attended", _("Atención resuelta en el momento")


class Interaction(models.Model):
    """Every contact on any channel, including self-service ones that open no ticket.
    Append-only and narrow: it is the table that grows to hundreds of millions of rows."""

    # Every index costs each of hundreds of millions of inserts: institution and citizen lead
    # the two composite indexes below, and channel is never filtered alone (the rollups group
    # it under institution and day), so none of the three has an index of its own (+25 % on
    # batch inserts, measured). Deleting a channel (PROTECT refuses it anyway) would scan.
    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    kind = models.CharField(max_length=20, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    is_self_service = models.BooleanField()
    citizen = models.ForeignKey(
        "citizens.Citizen", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["institution", "occurred_at"], name="interaction_inst_time"),
            models.Index(fields=["citizen", "occurred_at"], name="interaction_citizen_time"),
        ]
        verbose_name = _("interacción")
        verbose_name_plural = _("interacciones")

    def __str__(self) -> str:
        return f"{self.kind} {self.channel_id} {self.occurred_at:%Y-%m-%d %H:%M}"


class AnswerStatus(models.TextChoices):
    DRAFT = "draft", _("Borrador")
    PENDING_APPROVAL = "pending_approval", _("Esperando aprobación")
    APPROVED = "approved", _("Aprobada")
    REJECTED = "rejected", _("Devuelta")
    SENT = "sent", _("Enviada")


class TicketAnswer(models.Model):
    """An answer for one stage (plan or final), drafted by the area and sent — after a
    supervisor's approval when the topic is sensitive — by the channel administrator (or by
    the area itself when the area is allowed to)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="answers")
    stage = models.CharField(max_length=10, choices=ResponseStage.choices)
    body = models.TextField(_("respuesta"))
    # For a complaint's final answer: required before it can be sent (and the ticket closed).
    root_cause = models.TextField(_("causa raíz"), blank=True)
    corrective_action = models.TextField(_("acción correctiva"), blank=True)
    status = models.CharField(
        max_length=20, choices=AnswerStatus.choices, default=AnswerStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "status"], name="answer_ticket_status")]
        verbose_name = _("respuesta")
        verbose_name_plural = _("respuestas")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.stage} {self.status}"


class LinkKind(models.TextChoices):
    RELATED = "related", _("Relacionado")
    DUPLICATE = "duplicate", _("Duplicado (fusionado)")
    SPLIT = "split", _("Dividido de")


class TicketLink(models.Model):
    from_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_from")
    to_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_to")
    kind = models.CharField(max_length=10, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_ticket", "to_ticket"], name="ticket_link_once"),
            models.CheckConstraint(condition=~models.Q(from_ticket=models.F("to_ticket")),
                                   name="ticket_link_not_self"),
        ]
        verbose_name = _("vínculo")
        verbose_name_plural = _("vínculos")

    def __str__(self) -> str:
        return f"{self.from_ticket_id} {self.kind} {self.to_ticket_id}"
