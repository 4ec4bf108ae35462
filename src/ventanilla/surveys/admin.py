"""Survey definitions are edited here by system administrators; invitations, answers and
kiosks are read-only (they change only through the services: closure, answers, pairing)."""

from django.contrib import admin

from ventanilla.surveys.models import (
    Kiosk,
    Survey,
    SurveyInvitation,
    SurveyReason,
    SurveyResponse,
)


@admin.register(SurveyReason)
class SurveyReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "institution", "position", "is_active")
    list_filter = ("institution", "is_active")
    list_editable = ("position", "is_active")
    search_fields = ("label", "code")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("institution", "channel", "scale", "comment_enabled", "link_valid_days",
                    "is_active")
    list_filter = ("institution", "scale", "is_active")
    list_select_related = ("institution", "channel")
    filter_horizontal = ("reasons",)
    fields = ("institution", "channel", "question", "scale", "comment_enabled", "reasons",
              "link_valid_days", "is_active")


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(_ReadOnlyAdmin):
    list_display = ("ticket", "survey", "sent_via", "created_at", "expires_at", "used_at")
    list_filter = ("survey__institution", "sent_via", ("used_at", admin.EmptyFieldListFilter))
    list_select_related = ("ticket", "survey__institution", "survey__channel")
    date_hierarchy = "created_at"
    search_fields = ("ticket__folio",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(_ReadOnlyAdmin):
    list_display = ("answered_at", "institution", "source", "channel", "office", "score",
                    "scale", "ticket")
    list_filter = ("institution", "source", "channel", "scale", "score", "office")
    list_select_related = ("institution", "channel", "office", "ticket")
    date_hierarchy = "answered_at"
    search_fields = ("ticket__folio",)


@admin.register(Kiosk)
class KioskAdmin(_ReadOnlyAdmin):
    list_display = ("name", "office", "institution", "paired_by", "paired_at", "last_seen_at",
                    "is_active")
    list_filter = ("institution", "is_active", "office")
    list_select_related = ("office", "institution", "paired_by")
    exclude = ("secret_hash",)
