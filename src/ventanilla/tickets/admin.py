from django.contrib import admin

from ventanilla.core.admin import ReadOnlyAdmin
from ventanilla.tickets.models import Attachment, Interaction, Ticket, TicketEvent


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["folio", "institution", "ticket_type", "status", "channel", "received_at"]
    list_filter = ["institution", "status", "channel", "ticket_type"]
    search_fields = ["folio", "contact_email", "contact_rut"]
    show_full_result_count = False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "actor", "created_at", "is_public"]
    list_filter = ["kind"]
    raw_id_fields = ["ticket"]
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "ticket", "content_type", "size", "uploaded_at"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "institution", "channel", "kind", "is_self_service"]
    list_filter = ["institution", "channel", "kind"]
    show_full_result_count = False
