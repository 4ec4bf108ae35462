"""Form pieces shared by the citizen portal, accounts and the staff console."""

from django import forms


class AccessibleFormMixin:
    """Ties each widget to its hint and error texts (``aria-describedby``) and marks
    invalid fields, matching the ids rendered by ``includes/field.html``. The hint id is
    the one Django itself uses (``<id>_helptext``)."""

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

    def hint_ids(self):
        for name, field in self.fields.items():
            if field.help_text and not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs.setdefault("aria-describedby", f"{self[name].auto_id}_helptext")
