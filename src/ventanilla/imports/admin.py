from django.contrib import admin

from ventanilla.imports.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Read-only: runs are written by the ``import_tickets`` command only."""

    list_display = ("file_name", "institution", "status", "imported", "rejected", "skipped",
                    "started_at", "duration_seconds", "requested_by", "requested_by_label")
    list_filter = ("status", "institution")
    search_fields = ("file_name", "file_sha256")
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in ImportRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
