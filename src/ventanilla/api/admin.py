"""API keys in the admin: created through ``api_key_create`` (the clear key is shown once,
in the confirmation message, and never stored) and revoked through ``api_key_revoke``."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.api.models import ApiKey, InteractionBatch
from ventanilla.api.services import api_key_create, api_key_revoke


class ApiKeyCreateForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["institution", "name", "channels", "can_read", "can_write"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "prefix", "can_read", "can_write", "created_at",
                    "last_used_at", "revoked_at"]
    list_filter = ["institution", "can_write"]
    search_fields = ["name", "prefix"]
    filter_horizontal = ["channels"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ApiKeyCreateForm.Meta.fields
        return [*ApiKeyCreateForm.Meta.fields, *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        api_key, clear = api_key_create(
            institution=form.cleaned_data["institution"], name=form.cleaned_data["name"],
            channels=form.cleaned_data["channels"], can_read=form.cleaned_data["can_read"],
            can_write=form.cleaned_data["can_write"],
        )
        obj.pk = api_key.pk
        obj.prefix = api_key.prefix
        messages.warning(request, _(
            "Clave creada. Cópiela ahora: no se volverá a mostrar. %(key)s") % {"key": clear})

    def save_related(self, request, form, formsets, change):
        if change:  # on creation the service already stored the channels
            super().save_related(request, form, formsets, change)

    @admin.action(description=gettext_lazy("Revocar las claves seleccionadas"))
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        messages.success(request, _("Claves revocadas."))


@admin.register(InteractionBatch)
class InteractionBatchAdmin(admin.ModelAdmin):
    """Read only: answers "did the batch with this key arrive, and how many events?" when an
    integration asks. A record is what makes a retry harmless: never edited or deleted here."""

    list_display = ["key", "scope", "count", "created_at"]
    search_fields = ["key", "scope"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
