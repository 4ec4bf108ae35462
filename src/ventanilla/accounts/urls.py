from django.urls import path

from ventanilla.accounts import views

app_name = "accounts"

urlpatterns = [
    path("ingresar/", views.login_view, name="login"),
    path("salir/", views.logout_view, name="logout"),
    path("registro/", views.signup, name="signup"),
    path("registro/enviado/", views.signup_done, name="signup-done"),
    path("verificar/reenviar/", views.verify_resend, name="verify-resend"),
    path("verificar/<str:token>/", views.verify_email, name="verify"),
    path("inicio/", views.after_login, name="after-login"),
]
