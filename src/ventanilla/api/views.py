"""The REST API v1: one small view per operation, each with its own input/output serializers.
Views parse input, call a service or selector, and render; services check permissions."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ventanilla.api import selectors
from ventanilla.api.exceptions import Conflict, PayloadTooLarge
from ventanilla.api.models import ApiKey
from ventanilla.api.services import (
    IdempotencyConflict,
    api_answer_post,
    api_key_actor,
    api_ticket_open,
)
from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog.cache import api_key_channel, catalog_entry
from ventanilla.catalog.models import (
    Area,
    Channel,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)
from ventanilla.citizens.services import ContactData
from ventanilla.core import selectors as core_selectors
from ventanilla.core.models import Comuna, Region
from ventanilla.core.rut import rut_normalize
from ventanilla.core.services import audit_record
from ventanilla.tickets.models import ResponseStage, Status, Ticket, Urgency
from ventanilla.tickets.selectors import ticket_timeline
from ventanilla.tickets.services import (
    TicketDraft,
    ticket_add_citizen_message,
    ticket_change_area,
    ticket_change_status,
)
from ventanilla.tickets.uploads import check_upload_list

MAX_ID = 2**31 - 1
MAX_TEXT = 10000
NOT_AVAILABLE = _("La opción elegida no está disponible para esta institución.")

# --- shared pieces ---------------------------------------------------------------------------


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()


FIELD_ERRORS = OpenApiTypes.OBJECT
ERRORS_READ = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}
ERRORS_WRITE = {400: FIELD_ERRORS, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut,
                415: ErrorOut, 429: ErrorOut}


def IdField(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def require_caller(request) -> None:
    if api_key_of(request) is None and not request.user.is_authenticated:
        raise exceptions.NotAuthenticated(_("Se requiere una clave de API o una sesión."))


def require_key_scope(request, *, write: bool) -> ApiKey | None:
    """The key, if the caller is one, checked for read or write scope."""
    api_key = api_key_of(request)
    if api_key is not None:
        if write and not api_key.can_write:
            raise exceptions.PermissionDenied(_("Esta clave de API no puede escribir."))
        if not write and not api_key.can_read:
            raise exceptions.PermissionDenied(_("Esta clave de API no puede leer."))
    return api_key


def staff_membership_or_403(request):
    membership = selectors.staff_membership(
        request.user, request.query_params.get("institution", "")[:60])
    if membership is None:
        raise exceptions.PermissionDenied(_("No tiene acceso a requerimientos."))
    return membership


def get_ticket(request, folio: str, *, write: bool) -> Ticket:
    require_caller(request)
    api_key = require_key_scope(request, write=write)
    try:
        if api_key is not None:
            return selectors.ticket_get_for_key(api_key=api_key, folio=folio)
        return selectors.ticket_get_for_staff(user=request.user, folio=folio)
    except Ticket.DoesNotExist:
        raise exceptions.NotFound(_("No existe un requerimiento con ese folio.")) from None


def audit_api_read(request, *, action: str, obj, institution_id: int, data: dict) -> None:
    """Reads of tickets through the API are accountable like the console's: one INSERT per
    request (a key has no user: its prefix says which integration read)."""
    api_key = api_key_of(request)
    if api_key is not None:
        data = {**data, "api_key": api_key.prefix}
    audit_record(actor=None if api_key is not None else request.user, action=action, obj=obj,
                 institution=institution_id, data=data)


def actor_of(request):
    api_key = api_key_of(request)
    return api_key_actor(api_key=api_key) if api_key is not None else request.user


def check_content_length(request, *, limit: int) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(_("La solicitud supera el tamaño máximo (%(max)d MB).")
                              % {"max": max(1, limit // (1024 * 1024))})


def checked_attachments(files):
    for uploaded in files:
        if uploaded.size > settings.ATTACHMENT_MAX_BYTES:
            raise PayloadTooLarge(
                _("«%(name)s» supera el tamaño máximo de %(max)d MB por archivo.")
                % {"name": uploaded.name[:80],
                   "max": max(1, settings.ATTACHMENT_MAX_BYTES // (1024 * 1024))})
    return check_upload_list(files)


def upload_limit() -> int:
    return settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES + 1024 * 1024


class TicketRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TimelineEventOut(serializers.Serializer):
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    body = serializers.CharField()
    to_status = serializers.CharField(allow_blank=True)
    is_public = serializers.BooleanField()


class TicketPublicOut(serializers.Serializer):
    folio = serializers.CharField()
    institution = serializers.CharField(source="institution.slug")
    status = serializers.ChoiceField(choices=Status.choices)
    stage = serializers.ChoiceField(choices=ResponseStage.choices)
    channel = serializers.CharField(source="channel.code")
    ticket_type = TicketRefOut()
    topic = TicketRefOut()
    urgency = serializers.CharField()
    subject = serializers.CharField()
    region = serializers.CharField(source="region_id", allow_null=True)
    comuna = serializers.CharField(source="comuna_id", allow_null=True)
    received_at = serializers.DateTimeField()
    ack_due_at = serializers.DateTimeField(allow_null=True)
    plan_due_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    next_due_at = serializers.DateTimeField(allow_null=True)
    paused_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class TicketStaffOut(TicketPublicOut):
    """The public fields plus, for staff only, the personal and internal ones."""

    detail = serializers.CharField(required=False)
    contact_name = serializers.CharField(required=False)
    contact_email = serializers.CharField(allow_blank=True, required=False)
    contact_phone = serializers.CharField(allow_blank=True, required=False)
    contact_rut = serializers.CharField(allow_blank=True, required=False)
    area = TicketRefOut(allow_null=True, required=False)
    assignee = serializers.EmailField(source="assignee.email", allow_null=True, required=False)
    priority = serializers.CharField(required=False)
    triage_status = serializers.CharField(required=False)
    root_cause = serializers.CharField(allow_blank=True, required=False)
    corrective_action = serializers.CharField(allow_blank=True, required=False)


class TicketDetailOut(TicketStaffOut):
    """Staff see every field and the whole timeline; keys the public fields only (the
    staff-only fields are absent)."""

    timeline = TimelineEventOut(many=True)


def ticket_out(request, ticket: Ticket, *, with_timeline: bool = False) -> dict:
    staff = api_key_of(request) is None
    data = dict((TicketStaffOut if staff else TicketPublicOut)(ticket).data)
    if with_timeline:
        data["timeline"] = TimelineEventOut(
            ticket_timeline(ticket=ticket, public_only=not staff), many=True).data
    return data


def request_hash(request) -> str:
    data = request.data
    if isinstance(data, QueryDict):
        body = {k: data.getlist(k) for k in sorted(data.keys())}
    else:
        body = data
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode())
    for uploaded in request.FILES.getlist("attachments"):
        file_hash = hashlib.sha256()
        for chunk in uploaded.chunks():
            file_hash.update(chunk)
        uploaded.seek(0)
        digest.update(file_hash.hexdigest().encode())
    return digest.hexdigest()


# --- tickets ---------------------------------------------------------------------------------


class TicketCursorPagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-received_at"

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "ordering", "") or "-received_at"
        return (ordering, "-id" if ordering.startswith("-") else "id")


class TicketCollectionApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class CreateIn(serializers.Serializer):
        ticket_type = IdField()
        topic = IdField()
        subject = serializers.CharField(max_length=200)
        detail = serializers.CharField(max_length=MAX_TEXT)
        full_name = serializers.CharField(max_length=200)
        email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
        phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
        rut = serializers.CharField(required=False, allow_blank=True, max_length=14)
        urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.MEDIUM)
        requester_type = IdField(required=False, allow_null=True)
        organization = IdField(required=False, allow_null=True)
        region = serializers.CharField(required=False, allow_blank=True, max_length=2)
        comuna = serializers.CharField(required=False, allow_blank=True, max_length=5)
        channel = serializers.SlugField(required=False, max_length=30, default="api")
        attachments = serializers.ListField(child=serializers.FileField(), required=False,
                                            max_length=50)

        def validate_rut(self, value):
            if not value:
                return ""
            try:
                return rut_normalize(value)
            except (DjangoValidationError, ValueError, TypeError):
                raise serializers.ValidationError(_("El RUT no es válido.")) from None

        def validate(self, attrs):
            if not attrs.get("email") and not attrs.get("phone"):
                raise serializers.ValidationError(
                    {"email": _("Indique un correo electrónico o un teléfono.")})
            return attrs

    class FilterIn(serializers.Serializer):
        status = serializers.ChoiceField(choices=Status.choices, required=False)
        type = IdField(required=False)
        topic = IdField(required=False)
        area = IdField(required=False)
        channel = serializers.SlugField(required=False, max_length=30)
        region = serializers.CharField(required=False, max_length=2)
        received_after = serializers.DateTimeField(required=False)
        received_before = serializers.DateTimeField(required=False)
        ordering = serializers.ChoiceField(choices=["received_at", "-received_at"],
                                           required=False, default="-received_at")
        institution = serializers.SlugField(required=False, max_length=60)

    class ListOut(serializers.Serializer):
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = TicketStaffOut(many=True)

    @extend_schema(
        operation_id="tickets_list", parameters=[FilterIn, OpenApiParameter(
            "cursor", str, description="Cursor de la página (de `next`/`previous`)."),
            OpenApiParameter("page_size", int)],
        responses={200: ListOut, 400: FIELD_ERRORS, **ERRORS_READ},
        description="Requerimientos de la institución (clave con lectura) o los que el "
                    "funcionario puede ver. Los campos personales solo para funcionarios.")
    def get(self, request):
        require_caller(request)
        api_key = require_key_scope(request, write=False)
        filters = self.FilterIn(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        self.ordering = params.pop("ordering")
        params.pop("institution", None)
        params["ticket_type"] = params.pop("type", None)
        if api_key is not None:
            tickets = selectors.ticket_list_for_key(api_key=api_key)
        else:
            tickets = selectors.ticket_list_for_staff(
                membership=staff_membership_or_403(request))
        tickets = selectors.ticket_filter(tickets, **params)
        paginator = TicketCursorPagination()
        page = paginator.paginate_queryset(tickets, request, view=self)
        if page:
            audit_api_read(request, action="api.ticket_list",
                           obj=api_key if api_key is not None else request.user,
                           institution_id=page[0].institution_id,
                           data={"tickets": [t.pk for t in page]})
        return paginator.get_paginated_response([ticket_out(request, t) for t in page])

    @extend_schema(
        operation_id="tickets_create", request={"application/json": CreateIn,
                                                "multipart/form-data": CreateIn},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="Reintentos seguros: misma clave y mismo "
                                                 "contenido devuelven el mismo requerimiento.")],
        responses={201: TicketPublicOut, 200: TicketPublicOut, 409: ErrorOut, **ERRORS_WRITE},
        description="Ingresa un requerimiento por el canal de la integración (por omisión "
                    "`api`). JSON, o multipart con `attachments`.")
    def post(self, request):
        require_caller(request)
        api_key = require_key_scope(request, write=True)
        multipart = (request.content_type or "").startswith("multipart/")
        check_content_length(request, limit=upload_limit() if multipart
                             else settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        data = request.data
        if isinstance(data, QueryDict):
            data = {k: (data.getlist(k) if k == "attachments" else data.get(k))
                    for k in data}
            data["attachments"] = request.FILES.getlist("attachments")
        form = self.CreateIn(data=data)
        form.is_valid(raise_exception=True)
        values = form.validated_data
        if api_key is not None:
            institution, created_by = api_key.institution, None
            channel = api_key_channel(api_key, values["channel"])
            if channel is None:
                raise exceptions.PermissionDenied(
                    _("Esta clave de API no puede ingresar por el canal «%(code)s».")
                    % {"code": values["channel"]})
            scope = f"key:{api_key.pk}"
        else:
            membership = staff_membership_or_403(request)
            institution, created_by = membership.institution, request.user
            channel = Channel.objects.filter(code=values["channel"], is_active=True).first()
            if channel is None:
                raise exceptions.ValidationError({"channel": [_("Canal desconocido.")]})
            scope = f"user:{request.user.pk}"
        draft = TicketDraft(
            institution=institution, channel=channel,
            ticket_type=self._entry(TicketType, institution, values, "ticket_type"),
            topic=self._entry(Topic, institution, values, "topic"),
            requester_type=self._entry(RequesterType, institution, values, "requester_type"),
            organization=self._entry(Organization, institution, values, "organization"),
            region=self._territory(Region, values, "region"),
            comuna=self._territory(Comuna, values, "comuna"),
            subject=values["subject"], detail=values["detail"], urgency=values["urgency"],
            contact=ContactData(full_name=values["full_name"], email=values.get("email", ""),
                                phone=values.get("phone", ""), rut=values.get("rut", "")),
            attachments=checked_attachments(values.get("attachments") or []),
            created_by=created_by,
        )
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 200:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [_("La clave de idempotencia es demasiado larga.")]})
        try:
            ticket, created = api_ticket_open(draft=draft, scope=scope, key=key or None,
                                              request_hash=request_hash(request))
        except IdempotencyConflict:
            raise Conflict() from None
        return Response(ticket_out(request, ticket),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @staticmethod
    def _entry(model, institution, values, name):
        pk = values.get(name)
        if pk is None:
            return None
        # Cached per process and institution configuration version (``catalog.cache``).
        entry = catalog_entry(model, institution, pk)
        if entry is None:
            raise exceptions.ValidationError({name: [NOT_AVAILABLE]})
        return entry

    @staticmethod
    def _territory(model, values, name):
        code = values.get(name)
        if not code:
            return None
        entry = territory_get(model, code)
        if entry is None:
            raise exceptions.ValidationError({name: [_("Código desconocido.")]})
        return entry


def territory_get(model, code: str):
    """The Region or Comuna with ``code`` (None if unknown), from the per-process copy of
    the CUT table (``core.selectors``)."""
    if model is Comuna:
        return core_selectors.comuna_by_code(code)
    return core_selectors.region_by_code(code)


class TicketDetailApi(APIView):
    @extend_schema(operation_id="tickets_retrieve", responses={200: TicketDetailOut,
                                                               **ERRORS_READ},
                   description="Campos públicos, etapa, plazos y eventos públicos (claves); "
                               "todo para funcionarios.")
    def get(self, request, folio):
        ticket = get_ticket(request, folio, write=False)
        audit_api_read(request, action="api.ticket_read", obj=ticket,
                       institution_id=ticket.institution_id, data={})
        return Response(ticket_out(request, ticket, with_timeline=True))


class TicketMessageApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class MessageIn(serializers.Serializer):
        body = serializers.CharField(max_length=MAX_TEXT)
        channel = serializers.SlugField(required=False, max_length=30, default="api")

    class MessageOut(serializers.Serializer):
        folio = serializers.CharField(source="ticket.folio")
        created_at = serializers.DateTimeField()
        status = serializers.CharField(source="ticket.status")

    @extend_schema(operation_id="tickets_messages_create",
                   request={"application/json": MessageIn, "multipart/form-data": MessageIn},
                   responses={201: MessageOut, **ERRORS_WRITE},
                   description="Mensaje de la persona recibido por una integración.")
    def post(self, request, folio):
        require_caller(request)
        if api_key_of(request) is None:
            raise exceptions.PermissionDenied(
                _("Los mensajes de la persona llegan por una integración (clave de API)."))
        check_content_length(request, limit=upload_limit())
        ticket = get_ticket(request, folio, write=True)
        form = self.MessageIn(data=request.data)
        form.is_valid(raise_exception=True)
        channel = request.auth.channels.filter(code=form.validated_data["channel"]).first()
        if channel is None:
            raise exceptions.PermissionDenied(_("Esta clave de API no puede usar ese canal."))
        event = ticket_add_citizen_message(
            ticket=ticket, body=form.validated_data["body"], channel=channel,
            attachments=checked_attachments(request.FILES.getlist("attachments")))
        event.ticket.refresh_from_db()
        return Response(self.MessageOut(event).data, status=status.HTTP_201_CREATED)


class TicketAnswerApi(APIView):
    class AnswerIn(serializers.Serializer):
        stage = serializers.ChoiceField(choices=[ResponseStage.PLAN, ResponseStage.FINAL])
        body = serializers.CharField(max_length=MAX_TEXT)
        root_cause = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
        corrective_action = serializers.CharField(required=False, allow_blank=True,
                                                  max_length=MAX_TEXT)

    class AnswerOut(serializers.Serializer):
        id = serializers.IntegerField()
        stage = serializers.CharField()
        status = serializers.CharField()
        sent_at = serializers.DateTimeField(allow_null=True)
        ticket_status = serializers.CharField(source="ticket.status")

    @extend_schema(operation_id="tickets_answers_create", request=AnswerIn,
                   responses={201: AnswerOut, 202: AnswerOut, **ERRORS_WRITE},
                   description="Redacta, aprueba y envía la respuesta de una etapa (201). En "
                               "un tema sensible queda esperando aprobación (202).")
    def post(self, request, folio):
        ticket = get_ticket(request, folio, write=True)
        form = self.AnswerIn(data=request.data)
        form.is_valid(raise_exception=True)
        answer = api_answer_post(ticket=ticket, actor=actor_of(request), **form.validated_data)
        answer.ticket.refresh_from_db()
        return Response(self.AnswerOut(answer).data,
                        status=status.HTTP_201_CREATED if answer.sent_at
                        else status.HTTP_202_ACCEPTED)


class TicketAreaApi(APIView):
    class AreaIn(serializers.Serializer):
        area = IdField(allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(operation_id="tickets_area_create", request=AreaIn,
                   responses={200: TicketPublicOut, **ERRORS_WRITE},
                   description="Deriva el requerimiento a otra área de la institución.")
    def post(self, request, folio):
        ticket = get_ticket(request, folio, write=True)
        form = self.AreaIn(data=request.data)
        form.is_valid(raise_exception=True)
        area = None
        if form.validated_data["area"] is not None:
            area = Area.objects.filter(pk=form.validated_data["area"],
                                       institution_id=ticket.institution_id).first()
            if area is None:
                raise exceptions.ValidationError(
                    {"area": [_("El área no pertenece a esta institución.")]})
        ticket = ticket_change_area(ticket=ticket, actor=actor_of(request), area=area,
                                    reason=form.validated_data.get("reason", ""))
        return Response(ticket_out(request, ticket))


class TicketStatusApi(APIView):
    class StatusIn(serializers.Serializer):
        status = serializers.ChoiceField(choices=Status.choices)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(operation_id="tickets_status_create", request=StatusIn,
                   responses={200: TicketPublicOut, **ERRORS_WRITE},
                   description="Cambia el estado (transiciones permitidas; reabrir pide motivo).")
    def post(self, request, folio):
        ticket = get_ticket(request, folio, write=True)
        form = self.StatusIn(data=request.data)
        form.is_valid(raise_exception=True)
        ticket = ticket_change_status(ticket=ticket, actor=actor_of(request),
                                      to_status=form.validated_data["status"],
                                      reason=form.validated_data.get("reason", ""))
        return Response(ticket_out(request, ticket))


# --- catalogs (read-only; anonymous allowed) -------------------------------------------------

INSTITUTION_PARAM = OpenApiParameter(
    "institution", str, description="Identificador de la institución (anónimos; las claves "
                                     "usan la suya).")


def catalog_institution(request):
    api_key = api_key_of(request)
    if api_key is not None:
        return api_key.institution
    slug = (request.query_params.get("institution") or "")[:60]
    if request.user.is_authenticated and not slug:
        membership = selectors.staff_membership(request.user)
        if membership is not None:
            return membership.institution
    if not slug:
        raise exceptions.ValidationError(
            {"institution": [_("Indique la institución (?institution=<identificador>).")]})
    institution = selectors.institution_by_slug(slug)
    if institution is None:
        raise exceptions.NotFound(_("Institución desconocida."))
    return institution


class CodeNameOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CatalogEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


CATALOG_ERRORS = {400: FIELD_ERRORS, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class TicketTypeListApi(APIView):
    class TicketTypeOut(CatalogEntryOut):
        code = serializers.CharField()
        workflow = serializers.CharField()

    @extend_schema(operation_id="catalog_types", parameters=[INSTITUTION_PARAM],
                   responses={200: TicketTypeOut(many=True), **CATALOG_ERRORS})
    def get(self, request):
        items = catalog_selectors.ticket_type_list(institution=catalog_institution(request))
        return Response(self.TicketTypeOut(items, many=True).data)


class TopicListApi(APIView):
    class TopicOut(CatalogEntryOut):
        parent = serializers.IntegerField(source="parent_id", allow_null=True)

    @extend_schema(operation_id="catalog_topics", parameters=[INSTITUTION_PARAM],
                   responses={200: TopicOut(many=True), **CATALOG_ERRORS})
    def get(self, request):
        items = catalog_selectors.topic_list(institution=catalog_institution(request))
        return Response(self.TopicOut(items, many=True).data)


class RequesterTypeListApi(APIView):
    @extend_schema(operation_id="catalog_requester_types", parameters=[INSTITUTION_PARAM],
                   responses={200: CatalogEntryOut(many=True), **CATALOG_ERRORS})
    def get(self, request):
        items = catalog_selectors.requester_type_list(institution=catalog_institution(request))
        return Response(CatalogEntryOut(items, many=True).data)


class OrganizationListApi(APIView):
    class OrganizationOut(CatalogEntryOut):
        code = serializers.CharField(allow_blank=True)
        region = serializers.CharField(source="region_id")
        comuna = serializers.CharField(source="comuna_id")

    @extend_schema(operation_id="catalog_organizations", parameters=[INSTITUTION_PARAM],
                   responses={200: OrganizationOut(many=True), **CATALOG_ERRORS})
    def get(self, request):
        items = catalog_selectors.organization_list(institution=catalog_institution(request))
        return Response(self.OrganizationOut(items, many=True).data)


class ChannelListApi(APIView):
    @extend_schema(operation_id="catalog_channels",
                   responses={200: CodeNameOut(many=True), 401: ErrorOut, 429: ErrorOut})
    def get(self, request):
        items = Channel.objects.filter(is_active=True).order_by("pk")
        return Response(CodeNameOut(items, many=True).data)


class RegionListApi(APIView):
    @extend_schema(operation_id="catalog_regions",
                   responses={200: CodeNameOut(many=True), 401: ErrorOut, 429: ErrorOut})
    def get(self, request):
        return Response(CodeNameOut(core_selectors.region_list(), many=True).data)


class ComunaListApi(APIView):
    class ComunaOut(CodeNameOut):
        region = serializers.CharField(source="region_id")

    @extend_schema(operation_id="catalog_comunas",
                   parameters=[OpenApiParameter("region", str, description="Código CUT.")],
                   responses={200: ComunaOut(many=True), 401: ErrorOut, 429: ErrorOut})
    def get(self, request):
        region = (request.query_params.get("region") or "")[:2] or None
        comunas = core_selectors.comuna_list(region_code=region)
        return Response(self.ComunaOut(comunas, many=True).data)

