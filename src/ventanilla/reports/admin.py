from django.contrib import admin

from ventanilla.reports.models import ReportRun


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    """Read-only: reports are requested on the console page and built by the worker."""

    list_display = ("title", "institution", "period_start", "period_end", "status",
                    "requested_at", "finished_at")
    list_filter = ("status", "institution")
    search_fields = ("title",)
    date_hierarchy = "requested_at"
    readonly_fields = [field.name for field in ReportRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
