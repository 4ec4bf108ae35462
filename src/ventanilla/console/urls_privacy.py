"""Personal data: access log, a person's export and erasure (included by console/urls.py,
"console" namespace, under /consola/accesos/)."""

from django.urls import path

from ventanilla.console import views_privacy

urlpatterns = [
    path("", views_privacy.access_log_view, name="access-log"),
    path("exportar/", views_privacy.access_log_export, name="access-log-export"),
    path("supresiones/", views_privacy.erasure_requests, name="erasure-requests"),
    path("personas/<int:citizen_id>/datos/", views_privacy.person_export,
         name="person-export"),
    path("personas/<int:citizen_id>/suprimir/", views_privacy.person_erase,
         name="person-erase"),
]
