"""Twilio webhooks, mounted at /webhooks/twilio/ (signature-checked, CSRF-exempt)."""

from django.urls import path

from ventanilla.channels import views_sms

urlpatterns = [
    path("sms/", views_sms.twilio_sms, name="twilio-sms"),
    path("estado/", views_sms.twilio_status, name="twilio-status"),
]
