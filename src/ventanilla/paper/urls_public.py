from django.urls import path

from ventanilla.paper import views

urlpatterns = [
    path("<slug:institution_slug>.pdf", views.paper_form, name="paper-form-pdf"),
]
