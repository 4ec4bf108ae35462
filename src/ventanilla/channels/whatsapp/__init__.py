"""Meta's webhook format (WhatsApp Cloud API, Messenger, Instagram) in, and the outbound
adapter for those three channels out.

Inbound: ``webhook_receive`` takes a body whose ``X-Hub-Signature-256`` the view already
checked (``meta_graph.signature_valid``) and splits it into independent units: each message
becomes an ``InboundContent`` for ``channels.services.inbound_receive``, each delivery status
an ``outbox_delivery_update``. A unit that cannot be processed is quarantined on its own
(the rest of the body still goes through), with a raw copy that is itself a valid webhook
body holding only that message, so ``inbound_reprocess`` can replay it later.

Outbound: ``outbound_prepare`` shapes the rendered template for the channel's length limit;
``outbound_send`` posts it through the Graph Send API. WhatsApp only allows free-form text
within 24 hours of the person's last message; outside that window it sends the approved
notice template (``WHATSAPP_NOTICE_TEMPLATE``) with the folio and a short text. Messenger
uses the ``ACCOUNT_UPDATE`` message tag outside the window (Meta allows tagged,
non-promotional updates on the person's own request); Instagram only accepts the
``HUMAN_AGENT`` tag (a person answering, up to 7 days after the last message), after which
Graph refuses the message and it fails permanently — the answer stays on the tracking page.

Nothing here writes a table: the services do.
"""

from ventanilla.channels.whatsapp.inbound import (
    WebhookReport,
    inbound_reprocess,
    webhook_receive,
)
from ventanilla.channels.whatsapp.outbound import TEXT_LIMITS, outbound_prepare, outbound_send

__all__ = ["TEXT_LIMITS", "WebhookReport", "inbound_reprocess", "outbound_prepare",
           "outbound_send", "webhook_receive"]
