"""Spanish first: the language is es-CL unless the person chose another one with the
language selector (stored in the language cookie). The browser's Accept-Language is not
used: many people in Chile browse with an English-language system and still expect the
public service in Spanish."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real


class ChosenLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = trans_real.get_supported_language_variant(chosen) if chosen else None
        except LookupError:
            language = None
        language = language or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
