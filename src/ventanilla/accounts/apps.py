from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ventanilla.accounts"
    verbose_name = _("Cuentas")

    def ready(self):
        # Connects the lock-out audit receiver.
        from ventanilla.accounts import lockout  # noqa: F401
