"""Included from console/urls.py (namespace ``console``): ``console:availability``."""

from django.urls import path

from ventanilla.operations import views

urlpatterns = [
    path("", views.availability, name="availability"),
]
