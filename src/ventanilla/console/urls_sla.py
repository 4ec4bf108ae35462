"""Deadline pages of the console (included from console/urls.py, namespace ``console``)."""

from django.urls import path

from ventanilla.console import views_sla

urlpatterns = [
    path("plazos/cumplimiento/", views_sla.compliance, name="sla-compliance"),
]
