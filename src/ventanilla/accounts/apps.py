from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ventanilla.accounts"
    verbose_name = "Cuentas"
