"""Mounted at ``/webhooks/meta/``: the one callback URL configured in the Meta app for
WhatsApp, Messenger and Instagram."""

from django.urls import path

from ventanilla.channels import views_meta

urlpatterns = [
    path("", views_meta.webhook, name="meta-webhook"),
]
