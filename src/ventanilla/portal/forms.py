"""Forms of the citizen portal. They validate the shape of each field at the edge; the
intake service checks that catalog entries belong to the institution."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.choices import BaseChoiceIterator, normalize_choices
from django.utils.translation import gettext_lazy as _

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog.cache import institution_config
from ventanilla.catalog.models import (
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)
from ventanilla.citizens.services import normalize_phone
from ventanilla.core import selectors as core_selectors
from ventanilla.core.forms import AccessibleFormMixin, MultipleFileField
from ventanilla.core.models import Comuna, Region
from ventanilla.core.rut import rut_normalize
from ventanilla.tickets.models import Urgency
from ventanilla.tickets.uploads import check_upload_list

MAX_DETAIL_LENGTH = 10000
MAX_MESSAGE_LENGTH = 5000


class RadioGroup(forms.RadioSelect):
    """Radios whose "label" target is the first radio, so the error summary can link to it.
    Rendered inside a fieldset whose legend is the question (portal/includes/radios.html)."""

    def id_for_label(self, id_, index=None):
        return super().id_for_label(id_, "0" if index is None else index)


class ParentedSelect(forms.Select):
    """A select whose options carry ``data-parent`` so ventanilla.js can filter them by
    another select (``data-filter-by``). Without JavaScript every option stays usable."""

    def __init__(self, *args, parents: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.parents = parents or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        parent = self.parents.get(str(value))
        if parent is not None:
            option["attrs"]["data-parent"] = parent
        return option


def _required(message):
    return {"required": message}


def _attachments_field():
    return MultipleFileField(
        label=_("Archivos"),
        help_text=_("Opcional. Hasta 5 archivos: fotos (JPG, PNG, WEBP, GIF) o PDF, de hasta "
                    "10 MB cada uno."),
    )


def _checked_attachments(form):
    files = form.cleaned_data.get("attachments") or []
    return check_upload_list(files)


class SharedChoices(BaseChoiceIterator):
    """Already normalised choices shared by every form of the process: Django keeps a
    ``BaseChoiceIterator`` as it is instead of copying every option into each form."""

    def __init__(self, items: list):
        self.items = items

    def __iter__(self):
        return iter(self.items)


@dataclass(frozen=True)
class FormCatalog:
    """What the request form offers for one institution: each field's choices, and each
    submitted value (text) → its object. Built once per process and catalog version."""

    choices: dict[str, list]
    requester_types: dict[str, RequesterType]
    ticket_types: dict[str, TicketType]
    regions: dict[str, Region]
    comunas: dict[str, Comuna]
    organizations: dict[str, Organization]
    topics: dict[str, Topic]
    comuna_parents: dict[str, str]
    organization_parents: dict[str, str]


def _form_catalog_build(institution: Institution) -> FormCatalog:
    requester_types = list(catalog_selectors.requester_type_list(institution=institution))
    ticket_types = list(catalog_selectors.ticket_type_list(institution=institution))
    regions = core_selectors.region_list_cached()
    comunas = core_selectors.comuna_list_cached()
    grouped: dict[str, list] = {}
    for comuna in comunas:
        grouped.setdefault(comuna.region_id, []).append((comuna.code, comuna.name))
    organizations = list(catalog_selectors.organization_list(institution=institution))
    topics = catalog_selectors.topic_list(institution=institution)
    depth: dict[int, int] = {}
    topic_choices = [("", _("Elija un tema"))]
    for topic in topics:
        depth[topic.pk] = depth.get(topic.parent_id, -1) + 1 if topic.parent_id else 0
        indent = "\u00a0\u00a0\u00a0\u00a0" * depth[topic.pk]
        topic_choices.append((str(topic.pk), f"{indent}{topic.name}"))
    choices = {
        "requester_type": [(str(entry.pk), str(entry)) for entry in requester_types],
        "ticket_type": [(str(entry.pk), str(entry)) for entry in ticket_types],
        "region": [("", _("Elija una región"))] + [(region.code, str(region))
                                                   for region in regions],
        "comuna": [("", _("Elija una comuna"))] + [
            (region.name, grouped.get(region.code, [])) for region in regions],
        "organization": [("", _("Ninguno en particular"))] + [
            (str(org.pk), f"{org} — {org.comuna.name}") for org in organizations],
        "topic": topic_choices,
    }
    return FormCatalog(
        choices={name: SharedChoices(normalize_choices(items)) for name, items in choices.items()},
        requester_types={str(entry.pk): entry for entry in requester_types},
        ticket_types={str(entry.pk): entry for entry in ticket_types},
        regions={region.code: region for region in regions},
        comunas={comuna.code: comuna for comuna in comunas},
        organizations={str(org.pk): org for org in organizations},
        topics={str(topic.pk): topic for topic in topics},
        comuna_parents={comuna.code: comuna.region_id for comuna in comunas},
        organization_parents={str(org.pk): org.comuna_id for org in organizations},
    )


def form_catalog(institution: Institution) -> FormCatalog:
    """The institution's ``FormCatalog``, cached (``catalog.cache``)."""
    return institution_config(institution).get("portal-form-catalog",
                                               lambda: _form_catalog_build(institution))


class TicketRequestForm(AccessibleFormMixin, forms.Form):
    """The public request form of one institution (fieldsets follow the field order)."""

    # Identificación y contacto
    full_name = forms.CharField(
        label=_("Nombre completo"), max_length=200,
        error_messages=_required(_("Escriba su nombre completo.")),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    rut = forms.CharField(
        label=_("RUT"), required=False, max_length=20,
        help_text=_("Con dígito verificador, por ejemplo 12.345.678-5."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text",
                                      "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("Correo electrónico"), max_length=254,
        help_text=_("Le enviaremos el folio a este correo; lo necesitará para el seguimiento."),
        error_messages={"required": _("Escriba su correo electrónico."),
                        "invalid": _("Escriba un correo válido, por ejemplo nombre@dominio.cl.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Teléfono"), required=False, max_length=30,
        help_text=_("Por ejemplo +56 9 1234 5678."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    # Tipo de usuario
    requester_type = forms.ChoiceField(
        label=_("¿Quién hace la solicitud?"), widget=RadioGroup, error_messages={
            "required": _("Elija el tipo de usuario."),
            "invalid_choice": _("Elija un tipo de usuario de la lista."),
        },
    )
    # Ubicación
    region = forms.ChoiceField(
        label=_("Región"),
        error_messages={"required": _("Elija la región."),
                        "invalid_choice": _("Elija una región de la lista.")},
    )
    comuna = forms.ChoiceField(
        label=_("Comuna"),
        error_messages={"required": _("Elija la comuna."),
                        "invalid_choice": _("Elija una comuna de la lista.")},
    )
    # Establecimiento
    organization = forms.ChoiceField(
        label=_("Establecimiento"), required=False,
        help_text=_("Si su solicitud se refiere a un establecimiento, elíjalo."),
        error_messages={"invalid_choice": _("Establecimiento desconocido.")},
    )
    # La solicitud
    ticket_type = forms.ChoiceField(
        label=_("Motivo"), widget=RadioGroup,
        error_messages={"required": _("Elija el motivo de su solicitud."),
                        "invalid_choice": _("Elija un motivo de la lista.")},
    )
    topic = forms.ChoiceField(
        label=_("Tema"),
        error_messages={"required": _("Elija el tema."),
                        "invalid_choice": _("Elija un tema de la lista.")},
    )
    urgency = forms.ChoiceField(
        label=_("Urgencia"), choices=Urgency.choices, initial=Urgency.MEDIUM, widget=RadioGroup,
        error_messages={"required": _("Elija la urgencia."),
                        "invalid_choice": _("Elija una urgencia de la lista.")},
    )
    subject = forms.CharField(
        label=_("Asunto"), max_length=200,
        help_text=_("Un resumen en una línea (máximo 200 caracteres)."),
        error_messages={"required": _("Escriba un asunto."),
                        "max_length": _("El asunto puede tener hasta 200 caracteres.")},
    )
    detail = forms.CharField(
        label=_("Detalle"), max_length=MAX_DETAIL_LENGTH, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Cuéntenos qué pasó, cuándo y dónde."),
        error_messages={
            "required": _("Describa su solicitud."),
            "max_length": _("El detalle puede tener hasta %(limit_value)d caracteres."),
        },
    )
    # Adjuntos
    attachments = _attachments_field()
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)

    # Fields whose choices come from the catalog or the territory, and the dict of the
    # ``FormCatalog`` that maps each submitted value to its object.
    CATALOG_FIELDS = {"requester_type": "requester_types", "ticket_type": "ticket_types",
                      "region": "regions", "comuna": "comunas",
                      "organization": "organizations", "topic": "topics"}

    def __init__(self, *args, institution: Institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.institution = institution
        # Choices are built once per process and catalog version (``form_catalog``), and a
        # submitted value is checked with a dict lookup instead of a scan of every choice.
        self.catalog = catalog = form_catalog(institution)
        for name, attribute in self.CATALOG_FIELDS.items():
            field = self.fields[name]
            field.choices = catalog.choices[name]
            field.valid_value = getattr(catalog, attribute).__contains__
        if not catalog.requester_types:
            # An institution without requester types simply does not ask the question.
            del self.fields["requester_type"]
        self.fields["comuna"].widget = ParentedSelect(
            attrs={"data-filter-by": "id_region"}, parents=catalog.comuna_parents,
            choices=catalog.choices["comuna"])
        self.fields["organization"].widget = ParentedSelect(
            attrs={"data-filter-by": "id_comuna"}, parents=catalog.organization_parents,
            choices=catalog.choices["organization"])

    # -- field cleaning -------------------------------------------------------------------------

    def clean_full_name(self):
        value = self.cleaned_data["full_name"].strip()
        if not value:
            raise ValidationError(_("Escriba su nombre completo."), code="required")
        return value

    def clean_rut(self):
        value = self.cleaned_data["rut"].strip()
        return rut_normalize(value) if value else ""

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if value and not 8 <= len(normalize_phone(value)) <= 15:
            raise ValidationError(
                _("Escriba un teléfono válido, por ejemplo +56 9 1234 5678."), code="phone"
            )
        return value

    def clean_requester_type(self) -> RequesterType:
        return self.catalog.requester_types[self.cleaned_data["requester_type"]]

    def clean_ticket_type(self) -> TicketType:
        return self.catalog.ticket_types[self.cleaned_data["ticket_type"]]

    def clean_region(self) -> Region:
        return self.catalog.regions[self.cleaned_data["region"]]

    def clean_comuna(self) -> Comuna:
        return self.catalog.comunas[self.cleaned_data["comuna"]]

    def clean_organization(self) -> Organization | None:
        value = self.cleaned_data["organization"]
        return self.catalog.organizations[value] if value else None

    def clean_topic(self) -> Topic:
        return self.catalog.topics[self.cleaned_data["topic"]]

    def clean_subject(self):
        value = self.cleaned_data["subject"].strip()
        if not value:
            raise ValidationError(_("Escriba un asunto."), code="required")
        return value

    def clean_detail(self):
        value = self.cleaned_data["detail"].strip()
        if not value:
            raise ValidationError(_("Describa su solicitud."), code="required")
        return value

    def clean_attachments(self):
        return _checked_attachments(self)

    def clean_idempotency_key(self):
        # A missing or tampered token only loses double-submit protection; it is not an error.
        try:
            return str(uuid.UUID(self.cleaned_data["idempotency_key"]))
        except (ValueError, TypeError):
            return ""

    def clean(self):
        cleaned = super().clean()
        region, comuna = cleaned.get("region"), cleaned.get("comuna")
        if region is not None and comuna is not None and comuna.region_id != region.pk:
            self.add_error("comuna", _("La comuna elegida no pertenece a la región seleccionada."))
        organization = cleaned.get("organization")
        comuna = cleaned.get("comuna")
        if organization is not None and comuna is not None and organization.comuna_id != comuna.pk:
            self.add_error(
                "organization",
                _("El establecimiento elegido no está en la comuna seleccionada."),
            )
        return cleaned


ANTISPAM_SALT = "ventanilla.portal.request-form.started"
HONEYPOT_FIELD = "sitio_web"


def _clock() -> float:
    return time.time()


def antispam_token(started_at: float | None = None) -> str:
    """A signed record of when the form was shown (no server state, no cookie)."""
    return signing.dumps({"t": int(_clock() if started_at is None else started_at)},
                         salt=ANTISPAM_SALT, compress=False)


class PublicTicketRequestForm(TicketRequestForm):
    """The anonymous web form: the request form plus a proportionate anti-spam check that
    needs no third-party service and no puzzle, so nobody using a screen reader, a keyboard
    or a switch device is ever asked to prove anything:

    - a honeypot field, visually hidden, hidden from assistive technology and out of the tab
      order, labelled for the rare human who meets it ("leave this empty"); robots that
      fill every input fill it;
    - a signed timestamp of when the form was shown: a submission faster than
      ``ANTISPAM_MIN_SECONDS`` is a script; one older than ``ANTISPAM_MAX_AGE_SECONDS`` is
      re-shown with the data kept and a fresh timestamp, so the person only presses
      "Enviar" again.
    """

    sitio_web = forms.CharField(
        label=_("No escriba nada en este campo (es una protección contra envíos automáticos)"),
        required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    form_started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spam_reason = ""  # "honeypot" | "too_fast" | "expired" | "missing"
        if not self.is_bound:
            self.initial.setdefault("form_started", antispam_token())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get(HONEYPOT_FIELD, "").strip():
            self.spam_reason = "honeypot"
            raise ValidationError(
                _("No pudimos enviar el formulario. Si usted es una persona, deje vacío el "
                  "campo «No escriba nada en este campo» y envíelo de nuevo."),
                code="spam_honeypot",
            )
        self._check_started(cleaned.get("form_started", ""))
        return cleaned

    def _check_started(self, token: str) -> None:
        if not token:
            if settings.ANTISPAM_REQUIRE_TOKEN:
                self.spam_reason = "missing"
                raise ValidationError(
                    _("El formulario llegó incompleto. Revise sus datos y envíelo de nuevo."),
                    code="spam_token_missing",
                )
            return
        try:
            elapsed = _clock() - float(signing.loads(token, salt=ANTISPAM_SALT)["t"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            self.spam_reason = "missing"
            raise ValidationError(
                _("El formulario llegó incompleto. Revise sus datos y envíelo de nuevo."),
                code="spam_token_invalid",
            ) from None
        if elapsed > settings.ANTISPAM_MAX_AGE_SECONDS:
            self.spam_reason = "expired"
            raise ValidationError(
                _("Por seguridad, el formulario caducó porque pasó mucho tiempo desde que lo "
                  "abrió. Sus datos siguen aquí: revíselos y presione «Enviar solicitud» de "
                  "nuevo."),
                code="spam_token_expired",
            )
        if elapsed < settings.ANTISPAM_MIN_SECONDS:
            self.spam_reason = "too_fast"
            raise ValidationError(
                _("El formulario se envió demasiado rápido para haber sido completado por una "
                  "persona. Revise sus datos y presione «Enviar solicitud» de nuevo."),
                code="spam_too_fast",
            )

    def fresh_started_token(self) -> str:
        """The timestamp to put back in a re-shown form: the submitted one while it is valid
        (its clock keeps running), a new one when it expired or was missing."""
        if self.is_bound and self.spam_reason not in ("expired", "missing"):
            token = self.data.get("form_started", "")
            if token:
                return token
        return antispam_token()


class TrackingForm(AccessibleFormMixin, forms.Form):
    folio = forms.CharField(
        label=_("Folio"), max_length=40,
        help_text=_("Aparece en el correo de confirmación, por ejemplo JUN-2026-000123."),
        error_messages=_required(_("Escriba el folio.")),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("Correo electrónico"), max_length=254,
        help_text=_("El mismo correo que indicó en su solicitud."),
        error_messages={"required": _("Escriba su correo electrónico."),
                        "invalid": _("Escriba un correo válido, por ejemplo nombre@dominio.cl.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def clean_folio(self):
        return self.cleaned_data["folio"].strip().upper()


class CitizenMessageForm(AccessibleFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Mensaje"), max_length=MAX_MESSAGE_LENGTH, widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": _("Escriba su mensaje."),
            "max_length": _("El mensaje puede tener hasta %(limit_value)d caracteres."),
        },
    )
    attachments = _attachments_field()

    def clean_body(self):
        value = self.cleaned_data["body"].strip()
        if not value:
            raise ValidationError(_("Escriba su mensaje."), code="required")
        return value

    def clean_attachments(self):
        return _checked_attachments(self)
