"""Endpoints are configured by the system administrator; inbound messages are read-only,
with the quarantine filter and two actions: reprocess (after fixing the cause) and
dismiss (looked at, nothing to do)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.channels.models import ChannelEndpoint, InboundMessage, InboundStatus
from ventanilla.channels.services import inbound_dismiss, inbound_reprocess
from ventanilla.core.admin import ReadOnlyAdmin


@admin.register(ChannelEndpoint)
class ChannelEndpointAdmin(admin.ModelAdmin):
    list_display = ["institution", "provider", "address", "display_name", "channel",
                    "is_active"]
    list_filter = ["provider", "institution", "is_active"]
    search_fields = ["address", "display_name"]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "status", "sender", "subject", "reason",
                    "ticket"]
    list_filter = ["status", "provider", "institution"]
    search_fields = ["sender", "subject", "provider_message_id", "reason"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket"]
    readonly_fields = [f.name for f in InboundMessage._meta.fields]
    actions = ["reprocess", "dismiss"]

    def has_change_permission(self, request, obj=None):
        # Needed for the actions; every field stays read-only.
        return request.user.is_superuser or request.user.has_perm(
            "channels.change_inboundmessage")

    @admin.action(description=_("Reprocesar los mensajes en cuarentena elegidos"))
    def reprocess(self, request, queryset):
        done, failed = 0, []
        for message in queryset.filter(status=InboundStatus.QUARANTINED):
            try:
                inbound_reprocess(message=message, actor=request.user)
            except ValidationError as exc:
                failed.append(f"{message.pk}: {' '.join(exc.messages)}")
                continue
            message.refresh_from_db()
            if message.status == InboundStatus.PROCESSED:
                done += 1
            else:
                failed.append(f"{message.pk}: {message.reason}")
        if done:
            self.message_user(request, ngettext(
                "%(count)d mensaje procesado.", "%(count)d mensajes procesados.", done)
                % {"count": done}, messages.SUCCESS)
        for line in failed:
            self.message_user(request, _("Sigue en cuarentena: %(detail)s") % {"detail": line},
                              messages.WARNING)

    @admin.action(description=_("Marcar como revisados y descartar"))
    def dismiss(self, request, queryset):
        count = 0
        for message in queryset.filter(status=InboundStatus.QUARANTINED):
            inbound_dismiss(message=message, actor=request.user)
            count += 1
        self.message_user(request, ngettext(
            "%(count)d mensaje descartado.", "%(count)d mensajes descartados.", count)
            % {"count": count}, messages.SUCCESS)
