from django.urls import include, path

from ventanilla.console import views

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("institucion/", views.switch_institution, name="switch-institution"),
    path("r/<str:folio>/", views.ticket_detail, name="ticket"),
    path("r/<str:folio>/nota/", views.ticket_note, name="ticket-note"),
    path("r/<str:folio>/responder/", views.ticket_reply, name="ticket-reply"),
    path("r/<str:folio>/estado/", views.ticket_status, name="ticket-status"),
    path("r/<str:folio>/area/", views.ticket_area, name="ticket-area"),
    path("r/<str:folio>/adjuntos/<int:attachment_id>/", views.ticket_attachment,
         name="ticket-attachment"),
    path("", include("ventanilla.console.urls_sla")),
    path("", include("ventanilla.console.urls_triage")),
    path("", include("ventanilla.console.urls_links")),
    path("", include("ventanilla.console.urls_answers")),
    path("", include("ventanilla.console.urls_citizens")),
    path("operador/", include("ventanilla.console.urls_operator")),
    path("papel/", include("ventanilla.paper.urls_console")),
    path("encuestas/", include("ventanilla.surveys.urls_console")),
    path("tableros/", include("ventanilla.reports.urls")),
    path("disponibilidad/", include("ventanilla.operations.urls")),
    path("accesos/", include("ventanilla.console.urls_privacy")),
]
