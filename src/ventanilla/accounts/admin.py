from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.accounts.models import InstitutionSecurityPolicy, Membership, TotpDevice, User
from ventanilla.accounts.reauth import has_recent_auth, reauth_url
from ventanilla.accounts.services import (
    second_factor_disable,
    user_flag_password_reset,
    user_unlock,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    filter_horizontal = ["areas"]
    autocomplete_fields = ["institution"]


class ResetPasswordForm(AdminPasswordChangeForm):
    """A password set by an administrator is temporary: the person must replace it."""

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit=commit)


def _needs_fresh_auth(modeladmin, request):
    if has_recent_auth(request):
        return None
    modeladmin.message_user(request, _("Confirme su contraseña y vuelva a ejecutar la acción."),
                            messages.WARNING)
    return HttpResponseRedirect(reauth_url(request.get_full_path()))


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff",
                    "has_second_factor"]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [MembershipInline]
    change_password_form = ResetPasswordForm
    actions = ["reset_second_factor", "unlock_login"]
    fieldsets = (
        (None, {"fields": ("email", "password", "must_change_password")}),
        (_("Datos personales"), {"fields": ("first_name", "last_name", "email_verified_at")}),
        (_("Permisos"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Fechas"), {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    readonly_fields = ["password_changed_at"]
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(boolean=True, description=_("segundo factor"))
    def has_second_factor(self, obj):
        return TotpDevice.objects.filter(user=obj, confirmed_at__isnull=False).exists()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("totp_device")

    def save_model(self, request, obj, form, change):
        if not change:
            # The first password comes from an administrator: the person replaces it.
            obj.must_change_password = True
        super().save_model(request, obj, form, change)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and isinstance(response, HttpResponseRedirect):
            user = User.objects.get(pk=id)
            user_flag_password_reset(user=user, actor=request.user)
        return response

    @admin.action(description=_("Restablecer el segundo factor (teléfono perdido)"),
                  permissions=["change"])
    def reset_second_factor(self, request, queryset):
        if (redirect := _needs_fresh_auth(self, request)) is not None:
            return redirect
        count = sum(second_factor_disable(user=user, actor=request.user) for user in queryset)
        self.message_user(request, ngettext(
            "Se restableció el segundo factor de %(count)d persona; deberá activarlo de nuevo.",
            "Se restableció el segundo factor de %(count)d personas; deberán activarlo de nuevo.",
            count) % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=_("Desbloquear el ingreso (intentos fallidos)"),
                  permissions=["change"])
    def unlock_login(self, request, queryset):
        for user in queryset:
            user_unlock(user=user, actor=request.user)
        self.message_user(request, _("Se desbloqueó el ingreso de las personas elegidas."),
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "institution", "role", "is_active"]
    list_filter = ["institution", "role", "is_active"]
    search_fields = ["user__email"]
    filter_horizontal = ["areas"]


@admin.register(InstitutionSecurityPolicy)
class InstitutionSecurityPolicyAdmin(admin.ModelAdmin):
    list_display = ["institution", "totp_required_for_all_staff"]
    autocomplete_fields = ["institution"]
