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
    must_change_password = models.BooleanField(
        _("debe cambiar la contraseña"), default=False,
        help_text=_("Se le pedirá una contraseña nueva al ingresar (por ejemplo, después de que "
                    "un administrador la restablezca)."),
    )
    password_changed_at = models.DateTimeField(
        _("contraseña cambiada el"), null=True, blank=True
    )

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


class TotpDevice(models.Model):
    """A person's authenticator app (TOTP, RFC 6238: 30-second steps, 6 digits).

    The secret is shown only while enrolling; once ``confirmed_at`` is set no page renders
    it again. ``last_used_step`` is the last time step accepted, so a code cannot be used
    twice (not even within its own 30 seconds). The secret is stored encrypted
    (``accounts.secretbox``): a copy of the database alone does not yield the codes.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret_encrypted = models.TextField()
    confirmed_at = models.DateTimeField(_("activado el"), null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("segundo factor (aplicación autenticadora)")
        verbose_name_plural = _("segundos factores (aplicaciones autenticadoras)")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def secret(self) -> str:
        from ventanilla.accounts import secretbox

        return secretbox.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        from ventanilla.accounts import secretbox

        self.secret_encrypted = secretbox.encrypt(value)


class RecoveryCode(models.Model):
    """A one-time code to log in without the phone. Only a keyed hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")
        ]
        verbose_name = _("código de recuperación")
        verbose_name_plural = _("códigos de recuperación")

    def __str__(self) -> str:
        return f"{self.user} · {'usado' if self.used_at else 'disponible'}"


class InstitutionSecurityPolicy(models.Model):
    """Per-institution security choices. Supervisors and system administrators always need a
    second factor (``STAFF_TOTP_REQUIRED_ROLES``); this makes it compulsory for every staff
    role of the institution."""

    institution = models.OneToOneField(
        "catalog.Institution", on_delete=models.CASCADE, related_name="security_policy"
    )
    totp_required_for_all_staff = models.BooleanField(
        _("segundo factor obligatorio para todo el personal"), default=False,
        help_text=_("Si se marca, operadores, administradores del canal, áreas de respuesta y "
                    "auditores también deben usar una aplicación autenticadora."),
    )

    class Meta:
        verbose_name = _("política de seguridad de la institución")
        verbose_name_plural = _("políticas de seguridad de las instituciones")

    def __str__(self) -> str:
        return str(self.institution)
