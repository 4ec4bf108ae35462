"""Plan and final answers (included by console/urls.py, names in the "console" namespace)."""

from django.urls import path

from ventanilla.console import views_answers as views

urlpatterns = [
    path("r/<str:folio>/respuestas/", views.answers_page, name="answers"),
    path("r/<str:folio>/respuestas/intermedia/", views.answer_draft_view,
         {"stage": "plan"}, name="answer-draft-plan"),
    path("r/<str:folio>/respuestas/final/", views.answer_draft_view,
         {"stage": "final"}, name="answer-draft-final"),
    path("r/<str:folio>/respuestas/<int:answer_id>/a-aprobacion/", views.answer_submit_view,
         name="answer-submit"),
    path("r/<str:folio>/respuestas/<int:answer_id>/revisar/", views.answer_review_view,
         name="answer-review"),
    path("r/<str:folio>/respuestas/<int:answer_id>/enviar/", views.answer_send_view,
         name="answer-send"),
    path("r/<str:folio>/causa-raiz/", views.root_cause_view, name="ticket-root-cause"),
]
