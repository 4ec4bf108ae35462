from django.contrib import admin

from ventanilla.citizens.models import ChannelIdentity, Citizen, CitizenMerge
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

