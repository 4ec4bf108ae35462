"""The product's URLs plus the yardstick, so one gunicorn serves both."""

from bench.yardstick.views import insert
from django.urls import include, path

urlpatterns = [
    path("bench/insert/", insert, name="bench-insert"),
    path("", include("ventanilla.urls")),
]
