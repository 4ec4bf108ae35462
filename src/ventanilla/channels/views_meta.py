"""The Meta webhook (WhatsApp Cloud API, Messenger, Instagram): one URL for the three.

GET is the subscription handshake; POST carries events, checked against
``X-Hub-Signature-256`` before anything is parsed or stored. A signed body always gets a 200
(Meta retries anything else for days): what cannot be processed is quarantined by the
adapter, never answered with an error.
"""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ventanilla.channels import whatsapp
from ventanilla.channels.meta_graph import signature_valid, verify_token_valid

logger = logging.getLogger(__name__)

CHALLENGE_MAX_LENGTH = 200


@csrf_exempt  # authenticated by the HMAC signature, not by a session
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    body = request.body
    if not signature_valid(body=body, header=request.headers.get("X-Hub-Signature-256")):
        # Nothing is stored: an unsigned body may come from anyone.
        logger.warning("Meta webhook refused: missing or invalid X-Hub-Signature-256")
        return HttpResponseForbidden("invalid signature", content_type="text/plain")
    whatsapp.webhook_receive(body=body)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _handshake(request: HttpRequest) -> HttpResponse:
    if request.GET.get("hub.mode") != "subscribe" or not verify_token_valid(
            request.GET.get("hub.verify_token")):
        return HttpResponseForbidden("verification failed", content_type="text/plain")
    challenge = request.GET.get("hub.challenge", "")[:CHALLENGE_MAX_LENGTH]
    return HttpResponse(challenge, content_type="text/plain")
