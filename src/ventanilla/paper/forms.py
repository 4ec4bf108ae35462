"""Forms of the paper intake. The transcription form is the web form itself (the paper and
the screen ask the same things), minus the attachments (the photos are attached) plus the
date the person wrote on the paper."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.citizens.services import ContactData
from ventanilla.core.forms import AccessibleFormMixin, MultipleFileField
from ventanilla.paper.services import MAX_DISCARD_REASON, PaperTranscription
from ventanilla.portal.forms import TicketRequestForm
from ventanilla.tickets.uploads import check_upload_list


class PaperUploadForm(AccessibleFormMixin, forms.Form):
    pages = MultipleFileField(
        label=_("Fotos o PDF del formulario"),
        help_text=_("Una foto por página, en orden (JPG, PNG, WEBP, GIF) o un PDF escaneado; "
                    "hasta 5 archivos de hasta 10 MB cada uno."),
    )
    note = forms.CharField(
        label=_("Observación"), required=False, max_length=300,
        help_text=_("Opcional, solo para uso interno: por ejemplo, la oficina donde se recibió."),
    )

    def clean_pages(self):
        checked = check_upload_list(self.cleaned_data.get("pages") or [])
        if not checked:
            raise forms.ValidationError(_("Suba al menos una foto o PDF del formulario."),
                                        code="required")
        return checked


class PaperTranscriptionForm(TicketRequestForm):
    """What the operator reads on the paper. E-mail is optional: many people who use paper
    have none (they follow their request at the counter or by phone)."""

    written_on = forms.DateField(
        label=_("Fecha escrita en el formulario"), required=False,
        help_text=_("Solo se registra: el plazo se cuenta desde el ingreso a la plataforma."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Escriba una fecha válida, por ejemplo 31-03-2026.")},
        input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["attachments"]
        del self.fields["idempotency_key"]  # the intake itself is the idempotency key
        email = self.fields["email"]
        email.required = False
        email.help_text = _("Si la persona lo escribió: le enviaremos el folio y las respuestas.")

    def clean_written_on(self):
        value = self.cleaned_data.get("written_on")
        if value is not None and value > timezone.localdate():
            raise forms.ValidationError(_("La fecha escrita no puede ser posterior a hoy."),
                                        code="future")
        return value

    def transcription(self) -> PaperTranscription:
        data = self.cleaned_data
        return PaperTranscription(
            ticket_type=data["ticket_type"], topic=data["topic"], subject=data["subject"],
            detail=data["detail"],
            contact=ContactData(full_name=data["full_name"], email=data["email"],
                                phone=data["phone"], rut=data["rut"]),
            urgency=data["urgency"], requester_type=data.get("requester_type"),
            organization=data["organization"], region=data["region"], comuna=data["comuna"],
            written_on=data.get("written_on"),
        )


class PaperDiscardForm(AccessibleFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Motivo del descarte"), max_length=MAX_DISCARD_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Por ejemplo: hoja en blanco, ilegible o duplicado del folio …"),
        error_messages={"required": _("Indique por qué descarta este formulario.")},
    )

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError(_("Indique por qué descarta este formulario."),
                                        code="required")
        return value
