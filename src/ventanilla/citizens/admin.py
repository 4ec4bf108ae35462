from django.contrib import admin

from ventanilla.citizens.models import (
    ChannelIdentity,
    Citizen,
    CitizenMerge,
    ErasureRequest,
    RetentionRule,
    RetentionRun,
)
from ventanilla.core.admin import ReadOnlyAdmin


class ChannelIdentityInline(admin.TabularInline):
    model = ChannelIdentity
    extra = 0


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    list_display = ["full_name", "rut_display", "email", "phone", "created_at"]
    search_fields = ["full_name", "rut", "email", "phone"]
    inlines = [ChannelIdentityInline]
    raw_id_fields = ["user", "merged_into"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter)]


@admin.register(CitizenMerge)
class CitizenMergeAdmin(ReadOnlyAdmin):
    """Read-only: merges are made and undone through the console (audited services)."""

    list_display = ["keep", "other", "actor", "created_at", "undone_at"]
    raw_id_fields = ["keep", "other", "actor", "undone_by"]



@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    """Per institution and ticket type: the legal hold (erasure refused inside it) and when
    closed tickets are anonymised (``ventanilla apply_retention``, daily in the worker)."""

    list_display = ["institution", "ticket_type", "legal_hold_years", "anonymise_after_years",
                    "is_active", "updated_at"]
    list_filter = ["institution", "is_active"]
    raw_id_fields = ["ticket_type"]


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "dry_run", "tickets", "attachments", "error"]


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ReadOnlyAdmin):
    """Read-only: requests are handled in the console (audited, re-authenticated)."""

    list_display = ["citizen", "requested_at", "status", "handled_by", "handled_at"]
    list_filter = ["status"]
    raw_id_fields = ["citizen", "requested_by", "handled_by"]
