"""The product's settings plus the yardstick app and URL (``bench/yardstick``): used only by
``bench/bench_intake.py`` so the bare insert endpoint and the intake endpoints are served by
one and the same gunicorn, with the same middleware, database settings and workers."""

from ventanilla.settings import *  # noqa: F403
from ventanilla.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.yardstick"]
ROOT_URLCONF = "bench.yardstick.urls"
