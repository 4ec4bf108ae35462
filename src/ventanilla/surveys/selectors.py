"""Reads of the surveys app: which survey applies, invitations and kiosks, and the results
("satisfaction by channel, office, area, topic and period") as ``reports.tables.Table``s.

How the results count (shown under each table):

- **Invitations**: invitations created in the period (by the link sent on closure, or shown
  at the end of web tracking), grouped by their ticket's channel, area, topic, region and
  creation month. Invitations have no office: under "office" they all fall in one row.
- **Response rate**: of those invitations, the share answered. Kiosk answers have no
  invitation: they count among the responses but never in the rate.
- **Responses**: answers given in the period (``answered_at``, in Chile days), grouped by the
  dimensions copied onto the answer.
- **Mean score** 0-100: each answer scored 0 (worst face) … 100 (best face), so 3- and
  5-face answers average together (``SurveyResponse.score_percent``).
- **Satisfied**: the two best faces of five, the best face of three.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, DateField, F, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Area, Channel, Office, Topic
from ventanilla.reports.tables import Column, DashboardFilters, Table
from ventanilla.surveys.faces import FACES, face_label, is_top_answer
from ventanilla.surveys.models import Kiosk, Survey, SurveyInvitation, SurveyResponse
from ventanilla.tickets.permissions import membership_for

COMMENT_ROLES = (Role.SUPERVISOR, Role.SYSADMIN)
COMMENTS_PER_PAGE = 25


# --- which survey, invitation, kiosk --------------------------------------------------------

def survey_for_channel(*, institution_id: int, channel_id: int | None) -> Survey | None:
    """The channel's active survey, else the institution's active default, else None."""
    surveys = Survey.objects.filter(institution_id=institution_id, is_active=True).filter(
        Q(channel_id=channel_id) | Q(channel__isnull=True) if channel_id
        else Q(channel__isnull=True))
    by_channel = {survey.channel_id: survey for survey in surveys}
    return by_channel.get(channel_id) or by_channel.get(None)


def in_person_channel() -> Channel:
    return Channel.objects.get(code="in_person")


def survey_for_kiosk(*, kiosk: Kiosk) -> Survey | None:
    return survey_for_channel(institution_id=kiosk.institution_id,
                              channel_id=in_person_channel().pk)


def survey_reasons_offered(*, survey: Survey):
    return survey.reasons.filter(is_active=True, institution_id=survey.institution_id)


def invitation_get(*, invitation_id: int) -> SurveyInvitation | None:
    return (SurveyInvitation.objects
            .select_related("survey", "ticket", "ticket__institution")
            .filter(pk=invitation_id).first())


def kiosk_for_secret(*, secret_hash: str) -> Kiosk | None:
    return (Kiosk.objects.select_related("office", "institution")
            .filter(secret_hash=secret_hash, is_active=True).first())


def kiosk_list(*, institution_id: int):
    return (Kiosk.objects.select_related("office", "paired_by")
            .filter(institution_id=institution_id).order_by("-is_active", "office__name", "name"))


def office_list_for_kiosks(*, institution_id: int):
    return Office.objects.filter(institution_id=institution_id, is_active=True)


# --- results --------------------------------------------------------------------------------

def _period_bounds(filters: DashboardFilters) -> tuple[datetime, datetime]:
    """[first day 00:00, day after the last 00:00) in Chile time."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(filters.date_from, time.min, tzinfo=zone)
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _responses(filters: DashboardFilters):
    start, end = _period_bounds(filters)
    responses = SurveyResponse.objects.filter(
        institution=filters.institution, answered_at__gte=start, answered_at__lt=end)
    if filters.region is not None:
        responses = responses.filter(region=filters.region)
    if filters.area is not None:
        responses = responses.filter(area=filters.area)
    if filters.channel is not None:
        responses = responses.filter(channel=filters.channel)
    return responses


def _invitations(filters: DashboardFilters):
    start, end = _period_bounds(filters)
    invitations = SurveyInvitation.objects.filter(
        ticket__institution=filters.institution, created_at__gte=start, created_at__lt=end)
    if filters.region is not None:
        invitations = invitations.filter(ticket__region=filters.region)
    if filters.area is not None:
        invitations = invitations.filter(ticket__area=filters.area)
    if filters.channel is not None:
        invitations = invitations.filter(ticket__channel=filters.channel)
    return invitations


def _month(field: str):
    # Truncated in the current time zone (Chile), so a month is Chile's month.
    return TruncMonth(field, output_field=DateField())


@dataclass(frozen=True)
class _Dimension:
    title: object
    label: object
    response_key: object
    invitation_key: object  # None: invitations are not attributable (office)
    empty_label: object


DIMENSIONS: dict[str, _Dimension] = {
    "channel": _Dimension(gettext_lazy("Satisfacción por canal"), gettext_lazy("Canal"),
                          "channel_id", "ticket__channel_id", gettext_lazy("Sin canal")),
    "office": _Dimension(gettext_lazy("Satisfacción por oficina"), gettext_lazy("Oficina"),
                         "office_id", None,
                         gettext_lazy("Sin oficina (enlace y seguimiento web)")),
    "area": _Dimension(gettext_lazy("Satisfacción por área"), gettext_lazy("Área"),
                       "area_id", "ticket__area_id", gettext_lazy("Sin área")),
    "topic": _Dimension(gettext_lazy("Satisfacción por tema"), gettext_lazy("Tema"),
                        "topic_id", "ticket__topic_id", gettext_lazy("Sin tema")),
    "period": _Dimension(gettext_lazy("Satisfacción por mes"), gettext_lazy("Mes"),
                         "answered_at", "created_at", gettext_lazy("Sin fecha")),
}


def _labels(dimension: str, keys) -> dict:
    ids = [key for key in keys if key is not None]
    if dimension == "period":
        return {key: date_format(key, "YEAR_MONTH_FORMAT") for key in ids}
    if dimension == "topic":
        return {topic.pk: topic.full_name
                for topic in Topic.objects.select_related("parent").filter(pk__in=ids)}
    model = {"channel": Channel, "office": Office, "area": Area}[dimension]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _face_columns(scales: set[int]) -> list[Column]:
    columns = []
    for scale in sorted(scales, reverse=True):
        for face in FACES[scale]:
            columns.append(Column(f"face{scale}_{face.score}",
                                  _("%(face)s (%(scale)d caritas)") % {
                                      "face": face.label, "scale": scale}, "int"))
    return columns


def satisfaction_by(filters: DashboardFilters, dimension: str) -> Table:
    """Invitations, responses, response rate, mean score (0-100), share satisfied and the
    count of each face, per value of ``dimension`` (channel, office, area, topic, period)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    spec = DIMENSIONS[dimension]
    response_key = (_month(spec.response_key) if dimension == "period"
                    else F(spec.response_key))

    # Per key: the count of each (scale, score), and how many came from an invitation.
    faces: dict = defaultdict(lambda: defaultdict(int))
    scales: set[int] = set()
    for row in (_responses(filters).values("scale", "score", key=response_key)
                .annotate(n=Count("id")).order_by()):
        faces[row["key"]][(row["scale"], row["score"])] += row["n"]
        scales.add(row["scale"])

    invited: dict = defaultdict(lambda: [0, 0])  # key -> [invitations, answered]
    if spec.invitation_key is None:
        totals = _invitations(filters).aggregate(
            total=Count("id"), answered=Count("id", filter=Q(response__isnull=False)))
        if totals["total"]:
            invited[None] = [totals["total"], totals["answered"]]
    else:
        invitation_key = (_month(spec.invitation_key) if dimension == "period"
                          else F(spec.invitation_key))
        for row in (_invitations(filters).values(key=invitation_key)
                    .annotate(total=Count("id"),
                              answered=Count("id", filter=Q(response__isnull=False)))
                    .order_by()):
            invited[row["key"]] = [row["total"], row["answered"]]

    keys = set(faces) | set(invited)
    labels = _labels(dimension, keys)
    rows = []
    for key in keys:
        counts = faces.get(key, {})
        responses = sum(counts.values())
        points = sum(n * 100.0 * (score - 1) / (scale - 1)
                     for (scale, score), n in counts.items())
        satisfied = sum(n for (scale, score), n in counts.items() if is_top_answer(scale, score))
        invitations, answered = invited.get(key, (0, 0))
        row = {
            "key": key.isoformat() if isinstance(key, date) else key,
            "label": labels.get(key, str(spec.empty_label)) if key is not None
            else str(spec.empty_label),
            "invitations": invitations,
            "responses": responses,
            "response_rate": _percent(answered, invitations),
            "score_percent": round(points / responses, 1) if responses else None,
            "satisfied_share": _percent(satisfied, responses),
        }
        for scale in scales:
            for face in FACES[scale]:
                row[f"face{scale}_{face.score}"] = counts.get((scale, face.score), 0)
        rows.append(row)
    if dimension == "period":
        rows.sort(key=lambda row: row["key"] or "")
    else:
        rows.sort(key=lambda row: (row["key"] is None, row["label"].casefold()))

    return Table(
        key=f"satisfaction-{dimension}",
        title=spec.title,
        columns=[
            Column("label", spec.label),
            Column("invitations", gettext_lazy("Invitaciones"), "int"),
            Column("responses", gettext_lazy("Respuestas"), "int"),
            Column("response_rate", gettext_lazy("Tasa de respuesta (%)"), "percent"),
            Column("score_percent", gettext_lazy("Satisfacción media (0-100)"), "decimal"),
            Column("satisfied_share", gettext_lazy("Satisfechos (%)"), "percent"),
            *_face_columns(scales),
        ],
        rows=rows,
        chart="line" if dimension == "period" else "bar",
        chart_label="label",
        chart_series=["score_percent"],
        note=gettext_lazy(
            "Invitaciones: enlaces enviados al cerrar y encuestas mostradas al final del "
            "seguimiento web, creadas en el período. Tasa de respuesta: invitaciones del "
            "período que fueron respondidas; las respuestas del tótem no tienen invitación y "
            "no entran en la tasa. Satisfacción media: 0 es la peor carita y 100 la mejor. "
            "Satisfechos: las dos mejores caritas de cinco, o la mejor de tres."),
    )


@dataclass(frozen=True)
class CommentsPage:
    rows: list[dict]
    number: int
    has_previous: bool
    has_next: bool
    count: int


def survey_comments(filters: DashboardFilters, *, viewer, page: int = 1,
                    per_page: int = COMMENTS_PER_PAGE) -> CommentsPage:
    """The comments people left, newest first, for supervisors and system administrators
    of the institution (free text of a person: never in a ``Table``, never for auditors)."""
    membership = membership_for(viewer, filters.institution.pk)
    if membership is None or membership.role not in COMMENT_ROLES:
        raise PermissionDenied(_("Su rol no permite leer los comentarios de las encuestas."))
    responses = (_responses(filters).exclude(comment="")
                 .select_related("channel", "ticket", "office")
                 .order_by("-answered_at", "-pk"))
    paginator = Paginator(responses, per_page)
    current = paginator.get_page(page)
    rows = [{
        "comment": response.comment,
        "score": response.score,
        "scale": response.scale,
        "face": face_label(response.scale, response.score),
        "score_percent": response.score_percent,
        "channel": response.channel.name,
        "office": response.office.name if response.office_id else "",
        "source": response.get_source_display(),
        "folio": response.ticket.folio if response.ticket_id else "",
        "ticket_url": (reverse("console:ticket", args=[response.ticket.folio])
                       if response.ticket_id else ""),
        "answered_at": response.answered_at,
    } for response in current.object_list]
    return CommentsPage(rows=rows, number=current.number, has_previous=current.has_previous(),
                        has_next=current.has_next(), count=paginator.count)
