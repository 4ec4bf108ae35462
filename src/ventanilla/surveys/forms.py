"""Forms of the surveys app: the answer (link, end of tracking), kiosk pairing, results
filters. The answer form only parses; the service checks the answer against the survey."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.catalog.models import Area, Channel
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.core.models import Region
from ventanilla.surveys import selectors
from ventanilla.surveys.faces import faces_for
from ventanilla.surveys.services import COMMENT_MAX_LENGTH, KIOSK_NAME_MAX_LENGTH

MAX_PERIOD_DAYS = 3 * 366


class SurveyAnswerForm(AccessibleFormMixin, forms.Form):
    score = forms.TypedChoiceField(label=gettext_lazy("Su evaluación"), coerce=int,
                                   widget=forms.RadioSelect,
                                   error_messages={
                                       "required": gettext_lazy("Elija una de las caritas."),
                                       "invalid_choice": gettext_lazy(
                                           "Elija una de las caritas.")})
    reasons = forms.MultipleChoiceField(
        label=gettext_lazy("¿Qué influyó en su evaluación?"), required=False,
        widget=forms.CheckboxSelectMultiple)
    comment = forms.CharField(
        label=gettext_lazy("Comentario"), required=False, max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("No escriba datos personales. Hasta 1000 caracteres."))

    def __init__(self, *args, survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.faces = faces_for(survey.scale)
        self.fields["score"].choices = [(face.score, face.label) for face in self.faces]
        self.fields["score"].label = survey.question
        reasons = list(selectors.survey_reasons_offered(survey=survey))
        self.reason_list = reasons
        if reasons:
            self.fields["reasons"].choices = [(str(reason.pk), reason.label)
                                              for reason in reasons]
        else:
            del self.fields["reasons"]
        if not survey.comment_enabled:
            del self.fields["comment"]

    @property
    def chosen_score(self) -> str:
        return str(self["score"].value() or "")


class KioskPairForm(AccessibleFormMixin, forms.Form):
    office = forms.ModelChoiceField(label=gettext_lazy("Oficina"), queryset=None,
                                    empty_label=gettext_lazy("Elija la oficina"))
    name = forms.CharField(label=gettext_lazy("Nombre del dispositivo"),
                           max_length=KIOSK_NAME_MAX_LENGTH,
                           help_text=gettext_lazy("Por ejemplo: «Tablet mesón 1»."))

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = selectors.office_list_for_kiosks(
            institution_id=institution.pk)


DIMENSION_CHOICES = [(key, spec.label) for key, spec in selectors.DIMENSIONS.items()]


class ResultsFilterForm(AccessibleFormMixin, forms.Form):
    date_from = forms.DateField(label=gettext_lazy("Desde"),
                                widget=forms.DateInput(attrs={"type": "date"},
                                                       format="%Y-%m-%d"))
    date_to = forms.DateField(label=gettext_lazy("Hasta"),
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                              help_text=gettext_lazy("Incluye las respuestas de este día."))
    region = forms.ModelChoiceField(label=gettext_lazy("Región"), required=False,
                                    queryset=Region.objects.order_by("code"),
                                    empty_label=gettext_lazy("Todas"))
    area = forms.ModelChoiceField(label=gettext_lazy("Área"), required=False, queryset=None,
                                  empty_label=gettext_lazy("Todas"))
    channel = forms.ModelChoiceField(label=gettext_lazy("Canal"), required=False,
                                     queryset=Channel.objects.filter(is_active=True),
                                     empty_label=gettext_lazy("Todos"))

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.filter(institution=institution,
                                                           is_active=True)

    @staticmethod
    def default_period():
        today = timezone.localdate()
        return today - timedelta(days=89), today

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("La fecha final no puede ser anterior a la "
                                            "inicial."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("date_to", _("Elija un período de hasta tres años."))
        return data
