"""People who log in: staff (with a role per institution) and registered citizens.

Login is by e-mail for everyone. A staff member's powers come only from their
``Membership`` rows, never from Django's is_staff flag (that one only opens /admin/).
"""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField(_("correo electrónico"), unique=True)
    email_verified_at = models.DateTimeField(_("correo verificado el"), null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("usuario")
        verbose_name_plural = _("usuarios")

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operador")
    TRIAGE = "triage", _("Administrador del canal")
    RESPONDER = "responder", _("Área de respuesta")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Auditor (mandante)")
    SYSADMIN = "sysadmin", _("Administrador del sistema")


class Membership(models.Model):
    """A staff member's role inside one institution (and, for responders, their areas)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices)
    areas = models.ManyToManyField("catalog.Area", blank=True, related_name="members")
    is_active = models.BooleanField(_("activo"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "institution"], name="one_role_per_institution")
        ]
        verbose_name = _("rol en institución")
        verbose_name_plural = _("roles en instituciones")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.institution}"
