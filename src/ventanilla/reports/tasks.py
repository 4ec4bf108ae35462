"""Worker tasks. They take ids, never objects."""

from django_tasks import task

from ventanilla.reports.report_services import report_generate


@task()
def generate_report(run_id: int) -> str:
    return report_generate(run_id=run_id)
