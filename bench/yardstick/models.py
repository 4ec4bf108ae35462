from django.db import models


class YardstickRow(models.Model):
    """One row per request, about the size of a ticket's own columns (a subject, a text, an
    e-mail address, a time), without any of the intake's work around it."""

    subject = models.CharField(max_length=200)
    detail = models.TextField()
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bench_yardstick_row"

    def __str__(self) -> str:
        return self.subject
