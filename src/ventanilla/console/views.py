from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("en construcción")


inbox = switch_institution = ticket_detail = ticket_note = ticket_reply = ticket_status = _todo
ticket_area = ticket_attachment = _todo
