from django.urls import include, path

from ventanilla.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:institution_slug>/solicitud/", views.request_new, name="request-new"),
    path("solicitud/<uuid:public_id>/recibida/", views.request_done, name="request-done"),
    path("seguimiento/", views.track, name="track"),
    # Short on purpose: it travels inside SMS messages.
    path("s/<str:token>/", views.track_link, name="track-link"),
    path("seguimiento/<str:folio>/", views.track_detail, name="track-detail"),
    path("seguimiento/<str:folio>/adjuntos/<int:attachment_id>/", views.track_attachment,
         name="track-attachment"),
    path("mis-requerimientos/", views.my_requests, name="my-requests"),
    path("mis-datos/", include("ventanilla.portal.urls_privacy")),
]
