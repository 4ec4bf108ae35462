"""Console forms: they validate the shape of the input; the services check the rest."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ventanilla.accounts.models import Membership, Role
from ventanilla.catalog.cache import institution_config
from ventanilla.catalog.selectors import ticket_type_list, topic_list
from ventanilla.console.selectors import area_list, channel_list_active
from ventanilla.core.forms import AccessibleFormMixin, MultipleFileField
from ventanilla.core.selectors import region_list_cached
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Status, Ticket
from ventanilla.tickets.selectors import InboxFilters
from ventanilla.tickets.services import ALLOWED_TRANSITIONS
from ventanilla.tickets.uploads import check_upload_list

STATUS_OPEN = "open"
STATUS_ALL = "all"
NO_AREA = "none"
MAX_TEXT = 10_000


def _topic_choices(institution) -> list[tuple[str, str]]:
    """Topics in tree order; products are indented under their program."""
    choices = []
    depth: dict[int, int] = {}
    for topic in topic_list(institution=institution):
        level = depth.get(topic.parent_id, -1) + 1 if topic.parent_id else 0
        depth[topic.pk] = level
        choices.append((str(topic.pk), "— " * level + topic.name))
    return choices


def _filter_catalog(institution) -> dict[str, list[tuple[str, str]]]:
    """The inbox filters' choices, kept per process until the institution's configuration
    changes (``catalog.cache``): the inbox is the most opened page, and its catalog changes a
    few times a year."""

    def load() -> dict[str, list[tuple[str, str]]]:
        return {
            "types": [(str(t.pk), t.name) for t in ticket_type_list(institution=institution)],
            "topics": _topic_choices(institution),
            "areas": [(str(a.pk), a.name) for a in area_list(institution=institution)],
            "channels": [(str(c.pk), c.name) for c in channel_list_active()],
            "regions": [(r.code, r.name) for r in region_list_cached()],
        }

    return institution_config(institution).get("console_inbox_filter_choices", load)


class InboxFilterForm(AccessibleFormMixin, forms.Form):
    """The inbox filters (GET). A value that is not on offer (another institution's id, a
    typo in the URL) becomes a field error and that filter is ignored."""

    status = forms.ChoiceField(label=_("Estado"), required=False)
    ticket_type = forms.ChoiceField(label=_("Motivo"), required=False)
    topic = forms.ChoiceField(label=_("Tema"), required=False)
    area = forms.ChoiceField(label=_("Área"), required=False)
    channel = forms.ChoiceField(label=_("Canal"), required=False)
    region = forms.ChoiceField(label=_("Región"), required=False)
    sla = forms.ChoiceField(label=_("Plazo"), required=False, choices=[
        ("", _("Todos")), ("at_risk", _("En riesgo")), ("breached", _("Vencidos")),
        ("paused", _("En pausa")), ("ok", _("Al día")),
    ])
    overdue = forms.BooleanField(label=_("Solo vencidos"), required=False)
    q = forms.CharField(
        label=_("Buscar"), required=False, max_length=100,
        help_text=_("Folio, RUT, nombre o palabras del asunto o del detalle."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        catalog = _filter_catalog(membership.institution)
        self.fields["status"].choices = [
            (STATUS_OPEN, _("Abiertos")), *Status.choices, (STATUS_ALL, _("Todos")),
        ]
        everything = [("", _("Todos"))]
        self.fields["ticket_type"].choices = everything + catalog["types"]
        self.fields["topic"].choices = everything + catalog["topics"]
        if membership.role == Role.RESPONDER:
            own = {str(pk) for pk in permissions.area_ids(membership)}
            areas = [(pk, name) for pk, name in catalog["areas"] if pk in own]
            self.fields["area"].choices = [("", _("Todas mis áreas")), *areas]
        else:
            self.fields["area"].choices = [("", _("Todas")), (NO_AREA, _("Sin área")),
                                           *catalog["areas"]]
        self.fields["channel"].choices = everything + catalog["channels"]
        self.fields["region"].choices = [("", _("Todas")), *catalog["regions"]]
        for name in ("status", "ticket_type", "topic", "area", "channel", "region", "sla"):
            self.fields[name].error_messages["invalid_choice"] = _(
                "Ese valor no está disponible; se ignoró este filtro."
            )

    def to_filters(self) -> InboxFilters:
        """Filters from the valid fields only (call after ``is_valid``)."""
        data = getattr(self, "cleaned_data", {})
        status = data.get("status") or STATUS_OPEN
        area = data.get("area") or ""
        return InboxFilters(
            status="" if status == STATUS_ALL else status,
            ticket_type=int(data["ticket_type"]) if data.get("ticket_type") else None,
            topic=int(data["topic"]) if data.get("topic") else None,
            area=0 if area == NO_AREA else (int(area) if area else None),
            channel=int(data["channel"]) if data.get("channel") else None,
            region=data.get("region") or "",
            overdue=bool(data.get("overdue")),
            sla=data.get("sla") or "",
            query=data.get("q") or "",
        )


def _text_area(rows: int = 5) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class NoteForm(AccessibleFormMixin, forms.Form):
    prefix = "note"
    body = forms.CharField(
        label=_("Nota interna"), max_length=MAX_TEXT, widget=_text_area(),
        help_text=_("Solo la ve el equipo; la persona no la recibe."),
        error_messages={"required": _("Escriba la nota.")},
    )


class ReplyForm(AccessibleFormMixin, forms.Form):
    prefix = "reply"
    body = forms.CharField(
        label=_("Respuesta a la persona"), max_length=MAX_TEXT, widget=_text_area(7),
        help_text=_("Se envía por correo y queda en el historial que la persona puede ver."),
        error_messages={"required": _("Escriba la respuesta.")},
    )
    then_status = forms.ChoiceField(
        label=_("Luego, cambiar el estado a"), required=False,
        choices=[
            ("", _("Sin cambio")),
            (Status.IN_PROGRESS, Status.IN_PROGRESS.label),
            (Status.WAITING_CITIZEN, Status.WAITING_CITIZEN.label),
            (Status.CLOSED, Status.CLOSED.label),
        ],
    )
    attachments = MultipleFileField(
        label=_("Adjuntos"), required=False,
        help_text=_("Fotos (JPG, PNG, WEBP, GIF) o PDF."),
    )

    def clean_attachments(self):
        # Checked by content before anything is stored; the result goes to the service.
        self.checked_uploads = check_upload_list(self.cleaned_data.get("attachments") or [])
        return self.cleaned_data.get("attachments")


class StatusForm(AccessibleFormMixin, forms.Form):
    prefix = "status"
    status = forms.ChoiceField(
        label=_("Nuevo estado"),
        error_messages={
            "required": _("Elija el nuevo estado."),
            "invalid_choice": _("Ese cambio de estado ya no está disponible; recargue la página."),
        },
    )
    reason = forms.CharField(
        label=_("Motivo"), required=False, max_length=MAX_TEXT, widget=_text_area(3),
        help_text=_("Obligatorio al reabrir un requerimiento cerrado."),
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ALLOWED_TRANSITIONS.get(ticket.status, set())
        self.fields["status"].choices = [("", _("Elija…"))] + [
            (value, label) for value, label in Status.choices if value in allowed
        ]


class AreaForm(AccessibleFormMixin, forms.Form):
    prefix = "area"
    area = forms.ChoiceField(
        label=_("Derivar al área"),
        error_messages={
            "required": _("Elija el área."),
            "invalid_choice": _("Esa área no está disponible en esta institución."),
        },
    )
    reason = forms.CharField(
        label=_("Motivo de la derivación"), required=False, max_length=MAX_TEXT,
        widget=_text_area(3),
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.areas = {str(a.pk): a for a in area_list(institution=ticket.institution)}
        self.fields["area"].choices = [("", _("Elija…")), (NO_AREA, _("Sin área"))] + [
            (key, area.name) for key, area in self.areas.items()
        ]
        if not self.is_bound:
            self.initial.setdefault("area", str(ticket.area_id) if ticket.area_id else NO_AREA)

    def chosen_area(self):
        return self.areas.get(self.cleaned_data["area"])


def add_service_errors(form: forms.Form, error: ValidationError, *, rename=None) -> None:
    """Put a service's ValidationError next to the matching field (or on the form)."""
    rename = rename or {}
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            name = rename.get(field, field)
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
