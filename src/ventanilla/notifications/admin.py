from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.notifications.models import MessageTemplate, OutboundMessage, TemplateKey
from ventanilla.notifications.rendering import template_check, template_preview, variables_for
from ventanilla.notifications.services import outbox_cancel, outbox_retry


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "recipient", "subject", "status", "attempts",
                    "next_attempt_at"]
    list_filter = ["status", "channel"]
    search_fields = ["recipient", "subject", "dedupe_key"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    actions = ["cancel_messages", "retry_messages"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the outbox is the record of what was (or was not) sent

    @admin.action(description=_("Anular los mensajes pendientes o fallidos seleccionados"))
    def cancel_messages(self, request, queryset):
        count = outbox_cancel(message_ids=queryset.values_list("pk", flat=True),
                              reason=f"Anulado en la administración por {request.user}")
        self.message_user(request, ngettext("%(count)d mensaje anulado.",
                                            "%(count)d mensajes anulados.", count)
                          % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reintentar los mensajes fallidos seleccionados"))
    def retry_messages(self, request, queryset):
        count = outbox_retry(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d mensaje en cola para reintento.",
                                            "%(count)d mensajes en cola para reintento.", count)
                          % {"count": count}, messages.SUCCESS)


class MessageTemplateForm(forms.ModelForm):
    """Refuses a template that would not render: syntax, unknown variables, a failing
    sample render, a type of another institution, a second "any type" template."""

    class Meta:
        model = MessageTemplate
        fields = ["institution", "key", "ticket_type", "subject", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "cols": 90})}

    def clean(self):
        data = super().clean()
        institution, key = data.get("institution"), data.get("key")
        ticket_type = data.get("ticket_type")
        if institution and ticket_type and ticket_type.institution_id != institution.pk:
            self.add_error("ticket_type", _("El motivo no pertenece a esa institución."))
        if institution and key and ticket_type is None:
            twin = MessageTemplate.objects.filter(institution=institution, key=key,
                                                  ticket_type__isnull=True)
            if self.instance.pk:
                twin = twin.exclude(pk=self.instance.pk)
            if twin.exists():
                self.add_error("ticket_type", _("Ya existe una plantilla de este mensaje para "
                                                "todos los motivos de la institución."))
        if key and data.get("subject") is not None and data.get("body") is not None:
            errors = template_check(key=key, subject=data["subject"], body=data["body"],
                                    institution=institution, ticket_type=ticket_type)
            for field, messages_ in errors.items():
                for message in messages_:
                    self.add_error(field, message)
        return data


def _variables_table() -> str:
    rows = format_html_join(
        "", "<tr><th scope='row'>{}</th><td>{}</td></tr>",
        ((label, ", ".join("{{ " + name + " }}" for name in variables_for(key)))
         for key, label in TemplateKey.choices),
    )
    return format_html("<table><tbody>{}</tbody></table>", rows)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["key", "institution", "ticket_type", "subject", "is_active", "updated_at"]
    list_filter = ["key", "is_active", "institution"]
    search_fields = ["subject", "body"]
    readonly_fields = ["available_variables", "preview"]
    fieldsets = [
        (None, {"fields": ["institution", "key", "ticket_type", "is_active"]}),
        (_("Texto"), {
            "fields": ["subject", "body"],
            "description": _(
                "Asunto y texto usan la sintaxis de plantillas de Django, sin HTML: "
                "{{ ticket.folio }}, {% if … %}…{% endif %}, filtros como |date:\"j \\d\\e F\". "
                "No se permiten {% load %}, {% include %} ni {% debug %}. Al guardar se "
                "prueba con datos de ejemplo; si aun así fallara al enviar, se usa el "
                "mensaje predeterminado."),
        }),
        (_("Ayuda"), {"fields": ["available_variables", "preview"]}),
    ]

    @admin.display(description=_("Variables disponibles por mensaje"))
    def available_variables(self, obj):
        return _variables_table()

    @admin.display(description=_("Vista previa con datos de ejemplo"))
    def preview(self, obj):
        if obj is None or not obj.pk:
            return _("Guarde la plantilla para ver la vista previa.")
        try:
            rendered = template_preview(obj)
        except Exception as exc:  # shown to the administrator, never raised
            return format_html("<p>{}</p>", _("La plantilla falla: %(error)s") % {"error": exc})
        return format_html("<p><strong>{}</strong> {}</p><pre>{}</pre>", _("Asunto:"),
                           rendered.subject, rendered.body)
