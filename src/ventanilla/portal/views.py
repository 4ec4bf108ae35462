from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("en construcción")


home = request_new = request_done = track = track_detail = track_attachment = my_requests = _todo
