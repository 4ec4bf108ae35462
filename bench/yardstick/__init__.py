"""The yardstick of the intake benchmark: a bare single-row insert endpoint served by the
same gunicorn, settings and middleware as the product (``bench/yardstick_settings.py``).

Not part of the product. Its table is created and dropped by ``bench/bench_intake.py`` with
the schema editor (no migration, so nothing is left in ``django_migrations``).
"""
