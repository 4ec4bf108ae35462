"""A citizen's own data (included by portal/urls.py under /mis-datos/, "portal" namespace)."""

from django.urls import path

from ventanilla.portal import views_privacy

urlpatterns = [
    path("", views_privacy.my_data, name="my-data"),
    path("supresion/", views_privacy.erasure_request, name="erasure-request"),
]
