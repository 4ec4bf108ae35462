"""Worker tasks. They take ids, never objects."""

from django_tasks import task

from ventanilla.notifications.services import outbox_deliver


@task(queue_name="notifications")
def deliver_outbound_message(message_id: int) -> str:
    return outbox_deliver(message_id=message_id)
