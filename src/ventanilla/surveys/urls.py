"""Public survey pages, mounted at /encuesta/ (no namespace: names ``survey-…``)."""

from django.urls import path

from ventanilla.surveys import views

urlpatterns = [
    path("gracias/", views.survey_thanks, name="survey-thanks"),
    path("seguimiento/<str:folio>/", views.survey_tracking_answer, name="survey-tracking"),
    # Short on purpose: it travels inside SMS and WhatsApp messages.
    path("<str:token>/", views.survey_answer_view, name="survey-answer"),
]
