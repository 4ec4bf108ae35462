"""Two operators submitting the same paper form at the same moment open one ticket."""

import threading

import pytest
from django.db import connection

from tests.factories import MembershipFactory, make_catalog
from tests.paper.conftest import png_upload
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.paper.models import IntakeStatus, PaperIntake
from ventanilla.paper.services import (
    PaperTranscription,
    paper_intake_create,
    paper_intake_transcribe,
)
from ventanilla.tickets.models import Attachment, Ticket
from ventanilla.tickets.uploads import check_upload

THREADS = 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_transcriptions_open_one_ticket():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a file-based SQLite test database (SQLITE_TEST_NAME)")
    catalog = make_catalog()
    operators = [MembershipFactory(institution=catalog["institution"], role=Role.OPERATOR).user
                 for _ in range(THREADS)]
    intake = paper_intake_create(institution=catalog["institution"], actor=operators[0],
                                 uploads=[check_upload(png_upload())])
    org = catalog["organization"]
    barrier = threading.Barrier(THREADS)
    tickets, errors = [], []

    def worker(index):
        try:
            barrier.wait()
            tickets.append(paper_intake_transcribe(
                intake=intake, actor=operators[index],
                transcription=PaperTranscription(
                    ticket_type=catalog["complaint"], topic=catalog["topic"],
                    subject=f"Asunto {index}", detail="Detalle",
                    contact=ContactData(full_name="Rosa Muñoz", email="rosa@example.cl"),
                    urgency="medium", organization=org, region=org.region, comuna=org.comuna,
                ),
            ).pk)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert errors == [], errors
    assert Ticket.objects.count() == 1
    assert set(tickets) == {Ticket.objects.get().pk}
    assert Attachment.objects.count() == 1
    intake = PaperIntake.objects.get()
    assert intake.status == IntakeStatus.TRANSCRIBED and intake.ticket_id == tickets[0]
