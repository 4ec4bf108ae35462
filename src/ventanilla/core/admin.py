from django.contrib import admin

from ventanilla.core.models import AuditEvent, Comuna, Province, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "iso_code", "holidays_subdiv"]


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region"]
    list_filter = ["region"]


@admin.register(Comuna)
class ComunaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "province", "region"]
    list_filter = ["region"]
    search_fields = ["name", "code"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "actor", "action", "category", "object_type", "object_id",
                    "subject_citizen_id"]
    list_filter = ["category", "action", "object_type"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows written only by services (tickets, alerts, merges): the admin may look,
    not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
