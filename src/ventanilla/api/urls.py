from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from ventanilla.api import views, views_interactions

app_name = "api"


# Swagger UI's stylesheet draws its icons as data: SVG images; nothing else is relaxed.
swagger_csp = csp_update({"img-src": ["data:"]})


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation page works under the strict Content-Security-Policy: the split view
    # serves Swagger UI's init script as a file (?script) and our template moves the inline
    # style to api/docs.css. There is no Redoc page: Redoc loads its logo from a CDN,
    # starts a blob: worker and injects <style> elements before any nonce can reach it.
    path("docs/", swagger_csp(SpectacularSwaggerSplitView.as_view(
        url_name="api:schema", template_name="api/swagger_ui.html")), name="docs"),
    path("v1/tickets/", views.TicketCollectionApi.as_view(), name="tickets"),
    path("v1/tickets/<str:folio>/", views.TicketDetailApi.as_view(), name="ticket"),
    path("v1/tickets/<str:folio>/messages/", views.TicketMessageApi.as_view(),
         name="ticket_messages"),
    path("v1/tickets/<str:folio>/answers/", views.TicketAnswerApi.as_view(),
         name="ticket_answers"),
    path("v1/tickets/<str:folio>/area/", views.TicketAreaApi.as_view(), name="ticket_area"),
    path("v1/tickets/<str:folio>/status/", views.TicketStatusApi.as_view(), name="ticket_status"),
    path("v1/interactions/", views_interactions.InteractionBatchApi.as_view(), name="interactions"),
    path("v1/catalog/types/", views.TicketTypeListApi.as_view(), name="types"),
    path("v1/catalog/topics/", views.TopicListApi.as_view(), name="topics"),
    path("v1/catalog/channels/", views.ChannelListApi.as_view(), name="channels"),
    path("v1/catalog/requester-types/", views.RequesterTypeListApi.as_view(),
         name="requester_types"),
    path("v1/catalog/regions/", views.RegionListApi.as_view(), name="regions"),
    path("v1/catalog/comunas/", views.ComunaListApi.as_view(), name="comunas"),
    path("v1/catalog/organizations/", views.OrganizationListApi.as_view(),
         name="organizations"),
]
