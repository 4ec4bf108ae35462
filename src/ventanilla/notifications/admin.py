from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.notifications.models import OutboundMessage
from ventanilla.notifications.services import outbox_cancel, outbox_retry


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "recipient", "subject", "status", "attempts",
                    "next_attempt_at"]
    list_filter = ["status", "channel"]
    search_fields = ["recipient", "subject", "dedupe_key"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    actions = ["cancel_messages", "retry_messages"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the outbox is the record of what was (or was not) sent

    @admin.action(description=_("Anular los mensajes pendientes o fallidos seleccionados"))
    def cancel_messages(self, request, queryset):
        count = outbox_cancel(message_ids=queryset.values_list("pk", flat=True),
                              reason=f"Anulado en la administración por {request.user}")
        self.message_user(request, ngettext("%(count)d mensaje anulado.",
                                            "%(count)d mensajes anulados.", count)
                          % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reintentar los mensajes fallidos seleccionados"))
    def retry_messages(self, request, queryset):
        count = outbox_retry(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d mensaje en cola para reintento.",
                                            "%(count)d mensajes en cola para reintento.", count)
                          % {"count": count}, messages.SUCCESS)
