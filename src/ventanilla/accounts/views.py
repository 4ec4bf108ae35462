from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("en construcción")


login_view = logout_view = signup = verify_email = after_login = _todo
