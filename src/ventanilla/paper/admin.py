"""Read-only view of the paper intake for system administrators: intakes change only
through the services (upload, transcribe, discard), which audit every step."""

from django.contrib import admin

from ventanilla.paper.models import PaperIntake, PaperPage


class PaperPageInline(admin.TabularInline):
    model = PaperPage
    fields = ("position", "original_name", "content_type", "size", "sha256")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaperIntake)
class PaperIntakeAdmin(admin.ModelAdmin):
    list_display = ("id", "institution", "created_at", "status", "ticket", "uploaded_by")
    list_filter = ("status", "institution")
    date_hierarchy = "created_at"
    readonly_fields = ("institution", "uploaded_by", "created_at", "note", "status", "ticket",
                       "closed_by", "closed_at", "discard_reason")
    list_select_related = ("institution", "ticket", "uploaded_by")
    inlines = [PaperPageInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
