"""Console: related tickets, merging a duplicate, splitting a ticket (thin views).

The ticket page shows ``console/links/panel.html`` with the context of
``links_panel_context``; the forms post here. On an error the links page
(``console/links/page.html``) is shown again with the messages next to the fields.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ventanilla.catalog.selectors import ticket_type_list, topic_list
from ventanilla.console.context import StaffContext, staff_context_for_institution
from ventanilla.console.views import (
    _action_denied,
    _not_found,
    _ticket_or_none,
    staff_required,
)
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.tickets import permissions
from ventanilla.tickets.models import LinkKind, Ticket, TicketLink
from ventanilla.tickets.services import ticket_link, ticket_merge, ticket_split

MAX_TEXT = 10_000
FOLIO_HELP = gettext_lazy("Por ejemplo JUN-2026-000123.")


# --- reads ---------------------------------------------------------------------------------------

def ticket_link_list(ticket: Ticket) -> list[dict]:
    """The ticket's links seen from this ticket: the other ticket and what it is to this one."""
    rows = (TicketLink.objects.filter(Q(from_ticket=ticket) | Q(to_ticket=ticket))
            .select_related("from_ticket", "to_ticket").order_by("created_at", "pk"))
    labels = {
        (LinkKind.RELATED, True): _("Relacionado"),
        (LinkKind.RELATED, False): _("Relacionado"),
        (LinkKind.DUPLICATE, True): _("Fusionado en este folio"),
        (LinkKind.DUPLICATE, False): _("Duplicado fusionado aquí"),
        (LinkKind.SPLIT, True): _("Dividido de este folio"),
        (LinkKind.SPLIT, False): _("Parte separada en este folio"),
    }
    result = []
    for link in rows:
        outgoing = link.from_ticket_id == ticket.pk
        other = link.to_ticket if outgoing else link.from_ticket
        result.append({"link": link, "other": other, "kind": link.kind,
                       "label": labels.get((link.kind, outgoing), link.get_kind_display())})
    return result


# --- forms ---------------------------------------------------------------------------------------

class _FolioForm(AccessibleFormMixin, forms.Form):
    folio = forms.CharField(
        label=gettext_lazy("Folio"), max_length=24, help_text=FOLIO_HELP,
        error_messages={"required": gettext_lazy("Escriba el folio.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, ticket: Ticket, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        self.user = user

    def clean_folio(self) -> Ticket:
        folio = self.cleaned_data["folio"].strip().upper()
        other = (Ticket.objects.filter(institution_id=self.ticket.institution_id, folio=folio)
                 .first())
        if other is None or not permissions.can(self.user, "view", other):
            raise ValidationError(_("No hay un requerimiento con el folio %(folio)s en esta "
                                    "institución.") % {"folio": folio})
        if other.pk == self.ticket.pk:
            raise ValidationError(_("Ese es el folio de este mismo requerimiento."))
        return other


class LinkForm(_FolioForm):
    prefix = "link"


class MergeForm(_FolioForm):
    prefix = "merge"
    reason = forms.CharField(
        label=gettext_lazy("Motivo de la fusión"), max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Interno. A la persona se le avisa por correo que su "
                               "requerimiento se atenderá en el otro folio."),
        error_messages={"required": gettext_lazy("Indique por qué se fusionan.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("Confirmo: este requerimiento se cierra y se atiende en el otro folio."),
        error_messages={"required": gettext_lazy("Marque la confirmación para fusionar.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folio"].label = _("Fusionar en el folio")


class SplitForm(AccessibleFormMixin, forms.Form):
    prefix = "split"
    subject = forms.CharField(label=gettext_lazy("Asunto del nuevo requerimiento"), max_length=200,
                              error_messages={"required": gettext_lazy("Escriba el asunto.")})
    detail = forms.CharField(
        label=gettext_lazy("Detalle"), max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("La parte del requerimiento que se atenderá por separado."),
        error_messages={"required": gettext_lazy("Describa el nuevo requerimiento.")},
    )
    ticket_type = forms.ChoiceField(label=gettext_lazy("Motivo"), required=False)
    topic = forms.ChoiceField(label=gettext_lazy("Tema"), required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        institution = ticket.institution
        self.types = {str(t.pk): t for t in ticket_type_list(institution=institution)}
        self.topics = {str(t.pk): t for t in topic_list(institution=institution)}
        same = [("", _("El mismo del original"))]
        self.fields["ticket_type"].choices = same + [(k, t.name) for k, t in self.types.items()]
        self.fields["topic"].choices = same + [(k, t.full_name) for k, t in self.topics.items()]
        for name in ("ticket_type", "topic"):
            self.fields[name].error_messages["invalid_choice"] = _(
                "Esa opción no está disponible en esta institución.")
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


# --- context for the ticket page -----------------------------------------------------------------

def links_panel_context(*, user, ticket: Ticket, forms: dict | None = None) -> dict:
    """What ``console/links/panel.html`` needs, under the key ``links_panel``."""
    forms = forms or {}
    can_link = permissions.can(user, "link", ticket)
    can_relate = permissions.can(user, "link_related", ticket)
    return {"links_panel": {
        "links": ticket_link_list(ticket),
        "can_link": can_link,
        "can_relate": can_relate,
        "is_merged": ticket.merged_into_id is not None,
        "link_form": forms.get("link") or (LinkForm(ticket=ticket, user=user)
                                           if can_relate else None),
        "merge_form": forms.get("merge") or (MergeForm(ticket=ticket, user=user)
                                             if can_link and ticket.is_open else None),
        "split_form": forms.get("split") or (SplitForm(ticket=ticket) if can_link else None),
    }}


def _render_links(request, staff: StaffContext, ticket: Ticket, *, forms: dict | None = None,
                  status: int = 200) -> HttpResponse:
    return render(request, "console/links/page.html", {
        "staff": staff_context_for_institution(staff, ticket.institution_id), "ticket": ticket,
        **links_panel_context(user=request.user, ticket=ticket, forms=forms),
    }, status=status)


@require_safe
@staff_required
def ticket_links(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    return _render_links(request, staff, ticket)


def _service_errors(form: forms.Form, error: ValidationError, rename: dict) -> None:
    if hasattr(error, "error_dict"):
        for field, texts in error.message_dict.items():
            name = rename.get(field, field)
            form.add_error(name if name in form.fields else None, texts)
    else:
        form.add_error(None, error.messages)


def _links_action(form_key: str):
    """POST around one service call: 404 if the ticket is not visible, 403 if the role may
    not act, the links page with errors on invalid input, else back to the ticket."""

    def decorator(handler):
        @require_POST
        @staff_required
        def view(request, staff: StaffContext, folio: str):
            ticket = _ticket_or_none(request, staff, folio)
            if ticket is None:
                return _not_found(request, staff)
            try:
                form, success_message, target = handler(request, ticket)
            except PermissionDenied:
                return _action_denied(request, staff_context_for_institution(
                    staff, ticket.institution_id))
            if form is not None:
                return _render_links(request, staff, ticket, forms={form_key: form},
                                     status=400)
            messages.success(request, success_message)
            return redirect("console:ticket", folio=target.folio)

        view.__name__ = handler.__name__
        return view

    return decorator


@_links_action("link")
def ticket_link_view(request, ticket: Ticket):
    permissions.require(request.user, "link_related", ticket)
    form = LinkForm(request.POST, ticket=ticket, user=request.user)
    if not form.is_valid():
        return form, None, None
    other = form.cleaned_data["folio"]
    try:
        ticket_link(ticket=ticket, other=other, actor=request.user)
    except PermissionDenied:
        form.add_error("folio", _("Su rol no le permite vincular con el folio %(folio)s.")
                       % {"folio": other.folio})
        return form, None, None
    except ValidationError as error:
        _service_errors(form, error, {"other": "folio"})
        return form, None, None
    return None, _("Vinculado con el folio %(folio)s.") % {"folio": other.folio}, ticket


@_links_action("merge")
def ticket_merge_view(request, ticket: Ticket):
    permissions.require(request.user, "link", ticket)
    form = MergeForm(request.POST, ticket=ticket, user=request.user)
    if not form.is_valid():
        return form, None, None
    into = form.cleaned_data["folio"]
    try:
        ticket_merge(duplicate=ticket, into=into, actor=request.user,
                     reason=form.cleaned_data["reason"])
    except PermissionDenied:
        form.add_error("folio", _("Su rol no le permite fusionar con el folio %(folio)s.")
                       % {"folio": into.folio})
        return form, None, None
    except ValidationError as error:
        _service_errors(form, error, {"into": "folio"})
        return form, None, None
    return None, _("%(folio)s se fusionó en %(into)s y quedó cerrado.") % {
        "folio": ticket.folio, "into": into.folio}, ticket


@_links_action("split")
def ticket_split_view(request, ticket: Ticket):
    permissions.require(request.user, "link", ticket)
    form = SplitForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return form, None, None
    data = form.cleaned_data
    try:
        new = ticket_split(
            ticket=ticket, actor=request.user, subject=data["subject"], detail=data["detail"],
            ticket_type=form.types.get(data["ticket_type"]), topic=form.topics.get(data["topic"]),
            idempotency_key=data["token"] or None,
        )
    except ValidationError as error:
        _service_errors(form, error, {})
        return form, None, None
    return None, _("Se creó el requerimiento %(folio)s a partir de %(original)s.") % {
        "folio": new.folio, "original": ticket.folio}, new
