"""Post-attention surveys ("caritas"): a definition per channel, invitations sent after
closure (a signed, single-use, expiring link), answers from the link, the end of web
tracking and office kiosks."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scale(models.IntegerChoices):
    THREE = 3, _("3 caritas")
    FIVE = 5, _("5 caritas")


class SurveyReason(models.Model):
    """A reason a person may tick ("tiempo de espera", "claridad de la respuesta"…). One set
    per institution, shared by every channel's survey, so that results compare."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="survey_reasons")
    code = models.SlugField(_("código"), max_length=40)
    label = models.CharField(_("texto"), max_length=120)
    position = models.PositiveSmallIntegerField(_("orden"), default=0)
    is_active = models.BooleanField(_("activo"), default=True)

    class Meta:
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["institution", "code"],
                                               name="survey_reason_code_unique")]
        verbose_name = _("motivo de evaluación")
        verbose_name_plural = _("motivos de evaluación")

    def __str__(self) -> str:
        return self.label


class Survey(models.Model):
    """The survey of one channel of an institution; ``channel`` empty: the default for
    channels without their own."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="surveys")
    channel = models.ForeignKey("catalog.Channel", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("canal"),
                                help_text=_("Vacío: para los canales sin encuesta propia."))
    scale = models.PositiveSmallIntegerField(_("escala"), choices=Scale.choices,
                                             default=Scale.FIVE)
    question = models.CharField(_("pregunta"), max_length=200,
                                default=_("¿Cómo evalúa la atención recibida?"))
    comment_enabled = models.BooleanField(_("permite comentario"), default=True)
    reasons = models.ManyToManyField(SurveyReason, blank=True, related_name="surveys",
                                     verbose_name=_("motivos que se ofrecen"))
    link_valid_days = models.PositiveSmallIntegerField(
        _("días de validez del enlace"), default=30)
    is_active = models.BooleanField(_("activa"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "channel"],
                                    name="survey_institution_channel_unique"),
            models.UniqueConstraint(fields=["institution"], condition=Q(channel__isnull=True),
                                    name="survey_institution_default_unique"),
        ]
        verbose_name = _("encuesta")
        verbose_name_plural = _("encuestas")

    def __str__(self) -> str:
        channel = self.channel or _("todos los canales")
        return f"{self.institution} · {channel}"


class Source(models.TextChoices):
    LINK = "link", _("Enlace enviado tras el cierre")
    TRACKING = "tracking", _("Al final del seguimiento web")
    KIOSK = "kiosk", _("Tótem en oficina")


class SurveyInvitation(models.Model):
    """The invitation sent when a ticket closes: one per ticket. The link carries its id,
    signed; it works once (``used_at``) and until ``expires_at``."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE,
                                  related_name="survey_invitation")
    # The route the link went by: email, whatsapp, sms, messenger, instagram, or "" (shown
    # only at the end of web tracking).
    sent_via = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["survey", "created_at"], name="invitation_survey_time")]
        verbose_name = _("invitación a encuesta")
        verbose_name_plural = _("invitaciones a encuestas")

    def __str__(self) -> str:
        return f"{self.ticket_id} ({self.sent_via or 'web'})"


class SurveyResponse(models.Model):
    """One answer. Dimensions are copied from the ticket (or the kiosk's office) when it is
    answered, so results group without joins and stay what they were."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.PROTECT,
                                    related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(SurveyInvitation, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="response")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="survey_responses")
    source = models.CharField(_("origen"), max_length=10, choices=Source.choices)
    # The channel whose attention is evaluated (the ticket's; in_person for a kiosk).
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey("catalog.Office", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    # The tablet that took a kiosk answer (its per-minute allowance counts these).
    kiosk = models.ForeignKey("surveys.Kiosk", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    area = models.ForeignKey("catalog.Area", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    topic = models.ForeignKey("catalog.Topic", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    region = models.ForeignKey("core.Region", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    scale = models.PositiveSmallIntegerField(choices=Scale.choices)
    score = models.PositiveSmallIntegerField(_("puntaje"))  # 1 (worst) … scale (best)
    comment = models.TextField(_("comentario"), blank=True)
    reasons = models.ManyToManyField(SurveyReason, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("respondida el"), default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["institution", "answered_at"], name="response_inst_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=models.F("scale")),
                                   name="response_score_in_scale"),
        ]
        verbose_name = _("respuesta de encuesta")
        verbose_name_plural = _("respuestas de encuestas")

    def __str__(self) -> str:
        return f"{self.score}/{self.scale} {self.channel_id}"

    @property
    def score_percent(self) -> float:
        """0 (worst face) … 100 (best face), so 3- and 5-face answers compare."""
        return 100.0 * (self.score - 1) / (self.scale - 1)


class Kiosk(models.Model):
    """A tablet at an office counter, paired once by staff: the device keeps a random
    secret in a cookie; only its SHA-256 is stored here."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="kiosks")
    office = models.ForeignKey("catalog.Office", on_delete=models.PROTECT, related_name="kiosks",
                               verbose_name=_("oficina"))
    name = models.CharField(_("nombre"), max_length=80)
    secret_hash = models.CharField(max_length=64, unique=True)
    paired_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    paired_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("activo"), default=True)

    class Meta:
        verbose_name = _("tótem de encuesta")
        verbose_name_plural = _("tótems de encuesta")

    def __str__(self) -> str:
        return f"{self.name} ({self.office})"
