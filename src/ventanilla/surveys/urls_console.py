"""Console pages, mounted at /consola/encuestas/ inside the ``console`` namespace."""

from django.urls import path

from ventanilla.surveys import views_console

urlpatterns = [
    path("", views_console.results, name="surveys-results"),
    path("comentarios/", views_console.comments, name="surveys-comments"),
    path("kioscos/", views_console.kiosks, name="surveys-kiosks"),
    path("kioscos/<int:kiosk_id>/desactivar/", views_console.kiosk_deactivate_view,
         name="surveys-kiosk-deactivate"),
]
