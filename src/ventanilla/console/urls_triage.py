"""Triage queue and assignment actions (included by console/urls.py, namespace "console")."""

from django.urls import path

from ventanilla.console import views_triage

urlpatterns = [
    path("triaje/", views_triage.queue, name="triage"),
    path("triaje/validar/", views_triage.bulk_confirm, name="triage-bulk"),
    path("r/<str:folio>/triaje/validar/", views_triage.confirm, name="triage-confirm"),
    path("r/<str:folio>/triaje/corregir/", views_triage.correct, name="triage-correct"),
    path("r/<str:folio>/tomar/", views_triage.take, name="ticket-take"),
    path("r/<str:folio>/asignar/", views_triage.assign, name="ticket-assign"),
]
