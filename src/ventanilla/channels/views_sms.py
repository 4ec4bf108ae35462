"""Twilio's webhooks: an incoming SMS/MMS and the status callbacks of the SMS we send.

Both check Twilio's signature and the account first (403, nothing stored, otherwise).
An incoming message that cannot be processed is quarantined and still answered 200, so
that Twilio does not retry it for ever; a redelivered one changes nothing.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ventanilla.channels import sms_twilio
from ventanilla.channels.sms import sms_inbound_process
from ventanilla.notifications.services import outbox_delivery_update

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("Firma de Twilio ausente o inválida.",
                                 content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def twilio_sms(request):
    raw = request.body  # before request.POST: the raw body is what quarantine keeps
    if not sms_twilio.request_is_authentic(request):
        return _forbidden()
    sms_inbound_process(sms_twilio.inbound_from_form(request.POST, raw=raw))
    # An empty TwiML answer: no automatic reply (the acknowledgement goes through the outbox).
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_status(request):
    if not sms_twilio.request_is_authentic(request):
        return _forbidden()
    delivery = sms_twilio.delivery_from_form(request.POST)
    if delivery is not None:
        sid, status, error = delivery
        outbox_delivery_update(channel="sms", provider_message_id=sid, status=status,
                               error=error)
    return HttpResponse(b"", content_type="text/plain")
