"""Operator console: phone line and office counter (mounted at /consola/operador/ inside
the "console" namespace)."""

from django.urls import path

from ventanilla.console import views_operator as views

urlpatterns = [
    path("", views.operator_home, name="operator"),
    path("persona/<int:citizen_id>/", views.operator_person, name="operator-person"),
    path("persona/<int:citizen_id>/nuevo/", views.operator_ticket_new,
         name="operator-ticket-new"),
    path("persona/<int:citizen_id>/agregar/", views.operator_ticket_add,
         name="operator-ticket-add"),
    path("persona/<int:citizen_id>/atencion/", views.operator_attended,
         name="operator-attended"),
    path("nuevo/", views.operator_ticket_new, name="operator-ticket-new-unknown"),
    path("atencion/", views.operator_attended, name="operator-attended-unknown"),
    path("registrado/<str:folio>/", views.operator_done, name="operator-done"),
    path("borrador/", views.operator_draft, name="operator-draft"),
    path("borrador/descartar/", views.operator_draft_discard_view,
         name="operator-draft-discard"),
]
