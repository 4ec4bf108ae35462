from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "ventanilla.notifications"
    verbose_name = "Notificaciones"
