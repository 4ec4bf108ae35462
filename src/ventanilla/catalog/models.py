"""Catalogs. Everything except channels belongs to one institution, so an installation
can serve several public bodies with their own topics, areas and deadlines."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Institution(models.Model):
    slug = models.SlugField(_("identificador en la URL"), unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    short_name = models.CharField(_("sigla"), max_length=40)
    folio_prefix = models.CharField(
        _("prefijo de folio"), max_length=8, unique=True,
        validators=[RegexValidator(r"^[A-Z]{2,8}$", _("De 2 a 8 letras mayúsculas."))],
        help_text=_("Encabeza cada folio de la institución, p. ej. JUN-2026-000123."),
    )
    contact_email = models.EmailField(_("correo de contacto"), blank=True)
    is_active = models.BooleanField(_("activa"), default=True)
    # Changes whenever configuration read on every intake changes (``catalog.signals``):
    # each process compares it with the copy it caches (``catalog.cache``). A random value,
    # not a counter, so a row re-created with the same id never matches an old copy.
    config_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institución")
        verbose_name_plural = _("instituciones")

    def __str__(self) -> str:
        return self.short_name or self.name


class Channel(models.Model):
    """Global list: a channel means the same thing in every institution (metrics compare)."""

    code = models.SlugField(_("código"), max_length=30, unique=True)
    name = models.CharField(_("nombre"), max_length=80)
    is_assisted = models.BooleanField(
        _("asistido"), default=False,
        help_text=_("Atendido por una persona (teléfono, oficina) y no autoatención (web, bot)."),
    )
    is_active = models.BooleanField(_("activo"), default=True)
    position = models.PositiveSmallIntegerField(_("orden"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("canal")
        verbose_name_plural = _("canales")

    def __str__(self) -> str:
        return self.name


class InstitutionCatalog(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("nombre"), max_length=150)
    is_active = models.BooleanField(_("activo"), default=True)
    position = models.PositiveSmallIntegerField(_("orden"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Workflow(models.TextChoices):
    # Type 1: the platform answers with a template and closes by itself.
    INFORMATIVE = "type1", _("Tipo 1: sugerencia o felicitación (respuesta automática)")
    # Type 2: acknowledgement, plan within 72 h, final answer.
    THREE_STAGE = "type2", _("Tipo 2: reclamo o consulta (tres respuestas)")


class TicketType(InstitutionCatalog):
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="ticket_types"
    )
    code = models.SlugField(_("código"), max_length=40)
    workflow = models.CharField(_("flujo"), max_length=10, choices=Workflow.choices)
    target_hours = models.PositiveIntegerField(
        _("plazo de respuesta (horas corridas)"), default=72,
        help_text=_("Plazo base medido desde la recepción."),
    )
    description = models.CharField(_("descripción"), max_length=300, blank=True)
    requires_root_cause = models.BooleanField(
        _("exige causa raíz y acción correctiva"), default=False,
        help_text=_("Un reclamo no se cierra sin su causa raíz y la acción correctiva tomada."),
    )

    class Meta(InstitutionCatalog.Meta):
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="ticket_type_code_unique")
        ]
        verbose_name = _("motivo")
        verbose_name_plural = _("motivos")


class RequesterType(InstitutionCatalog):
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="requester_types"
    )

    class Meta(InstitutionCatalog.Meta):
        verbose_name = _("tipo de usuario")
        verbose_name_plural = _("tipos de usuario")


class AssignmentPolicy(models.TextChoices):
    MANUAL = "manual", _("Manual (cada persona toma sus casos)")
    ROUND_ROBIN = "round_robin", _("Automática, por turnos")
    LEAST_OPEN = "least_open", _("Automática, a quien tenga menos casos abiertos")


class Area(InstitutionCatalog):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="areas")
    email = models.EmailField(_("correo del área"), blank=True)
    assignment_policy = models.CharField(
        _("asignación de casos"), max_length=20, choices=AssignmentPolicy.choices,
        default=AssignmentPolicy.MANUAL,
    )
    sends_answers = models.BooleanField(
        _("el área envía sus respuestas"), default=False,
        help_text=_("Si no, el administrador del canal revisa y envía las respuestas del área."),
    )
    # Round-robin cursor: the member who got the last automatic assignment.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )

    class Meta(InstitutionCatalog.Meta):
        constraints = [
            models.UniqueConstraint(fields=["institution", "name"], name="area_name_unique")
        ]
        verbose_name = _("área de respuesta")
        verbose_name_plural = _("áreas de respuesta")


class Topic(InstitutionCatalog):
    """Hierarchical: program → product. Requests are filed on any active node."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="topics")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("tema padre"),
    )
    default_area = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("área por defecto"),
        help_text=_(
            "Área a la que se deriva un requerimiento de este tema si ninguna regla decide otra."
        ),
    )
    is_sensitive = models.BooleanField(
        _("tema sensible"), default=False,
        help_text=_("Las respuestas sobre este tema requieren la aprobación de un supervisor."),
    )

    class Meta(InstitutionCatalog.Meta):
        verbose_name = _("tema")
        verbose_name_plural = _("temas")

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name


class Organization(InstitutionCatalog):
    """A place a request refers to (a school, an office) with its territory."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="organizations"
    )
    code = models.CharField(_("código (RBD u otro)"), max_length=30, blank=True)
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    comuna = models.ForeignKey("core.Comuna", on_delete=models.PROTECT, related_name="+")

    class Meta(InstitutionCatalog.Meta):
        indexes = [models.Index(fields=["institution", "comuna"])]
        verbose_name = _("establecimiento")
        verbose_name_plural = _("establecimientos")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


class Office(InstitutionCatalog):
    """An attention office of the institution (an OIRS counter): where in-person contacts
    happen and where a survey kiosk stands."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="offices")
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("región"))
    comuna = models.ForeignKey("core.Comuna", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("comuna"))
    address = models.CharField(_("dirección"), max_length=200, blank=True)

    class Meta(InstitutionCatalog.Meta):
        verbose_name = _("oficina de atención")
        verbose_name_plural = _("oficinas de atención")
