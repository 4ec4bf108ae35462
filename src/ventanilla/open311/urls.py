from django.urls import re_path

from ventanilla.open311 import views

app_name = "open311"

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/]+?)" + FMT, views.service_definition,
            name="service_definition"),
    re_path(r"^requests" + FMT, views.requests_collection, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/]+?)" + FMT, views.request_detail,
            name="request_detail"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token_detail, name="token_detail"),
    re_path(r"^servicerequestupdates" + FMT, views.request_updates, name="updates"),
]
