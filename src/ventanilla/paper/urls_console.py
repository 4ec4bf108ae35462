"""Mounted at /consola/papel/ inside the ``console`` namespace."""

from django.urls import path

from ventanilla.paper import views

urlpatterns = [
    path("", views.intake_list, name="paper-list"),
    path("subir/", views.intake_upload, name="paper-upload"),
    path("<int:intake_id>/", views.intake_transcribe, name="paper-transcribe"),
    path("<int:intake_id>/folio/", views.intake_done, name="paper-done"),
    path("<int:intake_id>/descartar/", views.intake_discard, name="paper-discard"),
    path("<int:intake_id>/paginas/<int:page_id>/", views.intake_page, name="paper-page"),
]
