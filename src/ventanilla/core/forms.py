"""Form pieces shared by the citizen portal, accounts and the staff console."""

from django import forms

from ventanilla.tickets.uploads import ACCEPT_ATTRIBUTE


class AccessibleFormMixin:
    """Ties each widget to its hint and error texts (``aria-describedby``) and marks
    invalid fields, matching the ids rendered by ``includes/field.html``. The hint id is
    the one Django itself uses (``<id>_helptext``), which Django already links when the
    field has no error."""

    def full_clean(self):
        super().full_clean()
        for name, field in self.fields.items():
            bound = self[name]
            described = []
            if field.help_text:
                described.append(f"{bound.auto_id}_helptext")
            if name in self.errors:
                described.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Django 5.2's multiple-file pattern: returns the list of raw uploads. Their content is
    checked by ``tickets.uploads.check_upload_list`` in the form's ``clean_<field>``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []
