"""Forms of the operator console (phone line and office counter). The ticket form asks the
same things as the web form (``portal.forms.TicketRequestForm``); the operator also picks
the channel, and a person on the phone may have no e-mail."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ventanilla.catalog.models import Channel
from ventanilla.citizens.selectors import citizen_lookup_terms
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.portal.forms import MAX_MESSAGE_LENGTH, RadioGroup, TicketRequestForm
from ventanilla.tickets.services.assisted import ASSISTED_CHANNELS, SUMMARY_MAX_LENGTH


def assisted_channels() -> dict[str, Channel]:
    rows = Channel.objects.filter(code__in=ASSISTED_CHANNELS, is_active=True)
    return {row.code: row for row in rows}


class ChannelFieldMixin:
    """The channel of the contact (phone or counter), remembered for the session."""

    def _setup_channel(self):
        self._channels = assisted_channels()
        field = self.fields["channel"]
        field.choices = [(code, self._channels[code].name) for code in ASSISTED_CHANNELS
                         if code in self._channels]

    def clean_channel(self) -> Channel:
        return self._channels[self.cleaned_data["channel"]]


def _channel_field():
    return forms.ChoiceField(
        label=_("Canal de atención"), widget=RadioGroup,
        error_messages={"required": _("Elija teléfono o atención presencial."),
                        "invalid_choice": _("Elija teléfono o atención presencial.")},
    )


def _ticket_choices(tickets, *, empty: str | None = None):
    choices = [("", empty)] if empty is not None else []
    return choices + [(str(t.pk), f"{t.folio} · {t.subject} · {t.get_status_display()}")
                      for t in tickets]


class LookupForm(AccessibleFormMixin, forms.Form):
    q = forms.CharField(
        label=_("Buscar persona"), max_length=254,
        help_text=_("RUT, teléfono o correo electrónico, en cualquier formato."),
        error_messages={"required": _("Escriba un RUT, un teléfono o un correo."),
                        "max_length": _("El texto es demasiado largo.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "accesskey": "b", "autofocus": True,
                                      "type": "search"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "operator-lookup-%s")
        super().__init__(*args, **kwargs)

    def clean_q(self):
        terms = citizen_lookup_terms(self.cleaned_data["q"])
        if not terms.is_searchable:
            raise ValidationError(
                _("No reconocemos el formato. Escriba un RUT (12.345.678-5), un teléfono "
                  "(+56 9 1234 5678) o un correo (nombre@dominio.cl)."), code="format")
        return terms


class OperatorTicketForm(ChannelFieldMixin, TicketRequestForm):
    channel = _channel_field()
    field_order = ["channel"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_channel()
        email = self.fields["email"]
        email.required = False
        email.help_text = _("Se enviará el folio a este correo. Si la persona no tiene, "
                            "indique un teléfono.")
        self.fields["attachments"].help_text = _(
            "Opcional: documentos entregados en la oficina (fotos o PDF, hasta 5 archivos "
            "de 10 MB).")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("email") and not cleaned.get("phone") and not (
                self.has_error("email") or self.has_error("phone")):
            self.add_error("email", _("Indique un correo o un teléfono para responderle."))
        return cleaned


class AddToTicketForm(ChannelFieldMixin, AccessibleFormMixin, forms.Form):
    channel = _channel_field()
    ticket = forms.ChoiceField(
        label=_("Requerimiento abierto"), widget=RadioGroup,
        error_messages={"required": _("Elija el requerimiento."),
                        "invalid_choice": _("Elija un requerimiento abierto de la lista.")},
    )
    body = forms.CharField(
        label=_("Lo que informa la persona"), max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Escriba lo que informa la persona."),
                        "max_length": _("El texto puede tener hasta %(limit_value)d "
                                        "caracteres.")},
    )

    def __init__(self, *args, tickets, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_channel()
        self._tickets = {str(t.pk): t for t in tickets}
        self.fields["ticket"].choices = _ticket_choices(tickets)

    def clean_ticket(self):
        return self._tickets[self.cleaned_data["ticket"]]

    def clean_body(self):
        value = self.cleaned_data["body"].strip()
        if not value:
            raise ValidationError(_("Escriba lo que informa la persona."), code="required")
        return value


class AttendedForm(ChannelFieldMixin, AccessibleFormMixin, forms.Form):
    channel = _channel_field()
    ticket = forms.ChoiceField(
        label=_("Requerimiento relacionado"), required=False,
        help_text=_("Opcional: si la atención se refiere a un requerimiento de la persona."),
        error_messages={"invalid_choice": _("Elija un requerimiento de la lista.")},
    )
    summary = forms.CharField(
        label=_("Resumen de la atención"), max_length=SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Qué consultó la persona y qué se le respondió."),
        error_messages={"required": _("Escriba un resumen de la atención."),
                        "max_length": _("El resumen puede tener hasta %(limit_value)d "
                                        "caracteres.")},
    )

    def __init__(self, *args, tickets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_channel()
        self._tickets = {str(t.pk): t for t in tickets}
        if tickets:
            self.fields["ticket"].choices = _ticket_choices(tickets, empty=_("Ninguno"))
        else:
            del self.fields["ticket"]

    def clean_ticket(self):
        value = self.cleaned_data["ticket"]
        return self._tickets[value] if value else None

    def clean_summary(self):
        value = self.cleaned_data["summary"].strip()
        if not value:
            raise ValidationError(_("Escriba un resumen de la atención."), code="required")
        return value
