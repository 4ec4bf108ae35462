"""A person's page, merge and undo (included by console/urls.py, "console" namespace)."""

from django.urls import path

from ventanilla.console import views_citizens

urlpatterns = [
    path("personas/<int:citizen_id>/", views_citizens.citizen_detail, name="citizen"),
    path("personas/<int:citizen_id>/fusionar/<int:other_id>/", views_citizens.citizen_merge_view,
         name="citizen-merge"),
    path("personas/<int:citizen_id>/fusiones/<int:merge_id>/deshacer/",
         views_citizens.citizen_merge_undo_view, name="citizen-merge-undo"),
]
