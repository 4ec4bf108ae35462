"""Batches of interactions from integrations, exactly once: the producer retries a batch until
it gets an answer (at-least-once delivery), and the ``InteractionBatch`` record, written in
the batch's own transaction, turns every retry after the first success into a replay of the
first answer (idempotent batch)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from django.db import IntegrityError, transaction

from ventanilla.api.models import InteractionBatch
from ventanilla.api.services import IdempotencyConflict
from ventanilla.catalog.models import Institution
from ventanilla.tickets.services.interactions import (
    interaction_batch_prepare,
    interaction_batch_store,
)


def api_interaction_batch_record(*, institution: Institution, events: Sequence[Mapping],
                                 scope: str, key: str, request_hash: str, source: str = "",
                                 allowed_channels: Collection[str] | None = None
                                 ) -> tuple[InteractionBatch, bool]:
    """Store the batch once per (scope, key). Returns the batch record and whether it was
    stored now (False: a replay of an earlier success). Raises ``IdempotencyConflict`` when
    the key was used with another body, ``InteractionBatchInvalid`` when an event is invalid
    (nothing stored, nothing recorded: the corrected batch may reuse the key)."""
    earlier = _earlier(scope, key, request_hash)
    if earlier is not None:
        return earlier, False
    prepared = interaction_batch_prepare(institution=institution, events=events, source=source,
                                         allowed_channels=allowed_channels)
    try:
        with transaction.atomic():
            # The record first: a concurrent copy of this batch waits on the unique (scope,
            # key) index here, before writing any row, and fails when this one commits.
            batch = InteractionBatch.objects.create(scope=scope, key=key,
                                                    request_hash=request_hash,
                                                    count=len(prepared))
            interaction_batch_store(prepared)
    except IntegrityError:
        earlier = _earlier(scope, key, request_hash)
        if earlier is None:
            raise
        return earlier, False
    return batch, True


def _earlier(scope: str, key: str, request_hash: str) -> InteractionBatch | None:
    earlier = InteractionBatch.objects.filter(scope=scope, key=key).first()
    if earlier is not None and earlier.request_hash != request_hash:
        raise IdempotencyConflict
    return earlier
