"""Links, merge and split (included by console/urls.py, names in the "console" namespace)."""

from django.urls import path

from ventanilla.console import views_links

urlpatterns = [
    path("r/<str:folio>/vinculos/", views_links.ticket_links, name="ticket-links"),
    path("r/<str:folio>/vinculos/vincular/", views_links.ticket_link_view, name="ticket-link"),
    path("r/<str:folio>/vinculos/fusionar/", views_links.ticket_merge_view, name="ticket-merge"),
    path("r/<str:folio>/vinculos/dividir/", views_links.ticket_split_view, name="ticket-split"),
]
