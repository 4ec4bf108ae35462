from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from ventanilla.accounts import views as accounts_views
from ventanilla.core.views import healthz, healthz_live

admin.site.site_header = _("Ventanilla — administración")
admin.site.site_title = "Ventanilla"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
    path("i18n/setlang/", set_language, name="set_language"),
    # The admin site logs in through the same login as everyone (password, TOTP, lock-out).
    path("admin/login/", accounts_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("cuenta/", include("ventanilla.accounts.urls")),
    path("consola/", include("ventanilla.console.urls")),
    path("api/", include("ventanilla.api.urls")),
    path("open311/v2/", include("ventanilla.open311.urls")),
    # Provider webhooks (signature-checked, CSRF-exempt).
    path("webhooks/meta/", include("ventanilla.channels.urls_meta")),
    path("webhooks/twilio/", include("ventanilla.channels.urls_sms")),
    path("formulario-papel/", include("ventanilla.paper.urls_public")),
    path("encuesta/", include("ventanilla.surveys.urls")),
    path("kiosco/", include("ventanilla.surveys.urls_kiosk")),
    path("", include("ventanilla.portal.urls")),
]

# A database that cannot be reached answers 503 "try again in a moment", not the 500 page.
handler500 = "ventanilla.core.errors.server_error"
