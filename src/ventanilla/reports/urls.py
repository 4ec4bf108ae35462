"""Mounted by the console at ``/consola/tableros/`` (namespace ``console``)."""

from django.urls import path

from ventanilla.reports import views

urlpatterns = [
    path("", views.dashboard, name="dashboards-home"),
    path("exportar/<slug:key>.<str:fmt>", views.export, name="dashboards-export"),
    path("reportes/", views.reports, name="dashboards-reports"),
    path("reportes/<int:run_id>/<str:kind>/", views.report_download,
         name="dashboards-report-download"),
]
