from django.urls import path

from ventanilla.accounts import views

app_name = "accounts"

urlpatterns = [
    path("ingresar/", views.login_view, name="login"),
    path("ingresar/codigo/", views.login_code, name="login-code"),
    path("salir/", views.logout_view, name="logout"),
    path("registro/", views.signup, name="signup"),
    path("registro/enviado/", views.signup_done, name="signup-done"),
    path("verificar/reenviar/", views.verify_resend, name="verify-resend"),
    path("verificar/<str:token>/", views.verify_email, name="verify"),
    path("inicio/", views.after_login, name="after-login"),
    path("confirmar/", views.reauth, name="reauth"),
    path("clave/", views.password_change, name="password-change"),
    path("seguridad/", views.security, name="security"),
    path("segundo-factor/", views.totp_enrol, name="totp-enrol"),
    path("segundo-factor/codigos/", views.recovery_codes_new, name="recovery-codes"),
    path("segundo-factor/desactivar/", views.totp_disable, name="totp-disable"),
]
