"""The office kiosk, mounted at /kiosco/ (names ``kiosk-…``)."""

from django.urls import path

from ventanilla.surveys import views_kiosk

urlpatterns = [
    path("", views_kiosk.kiosk_home, name="kiosk-home"),
    path("gracias/", views_kiosk.kiosk_thanks, name="kiosk-thanks"),
]
