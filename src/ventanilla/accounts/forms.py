"""Account forms: e-mail login and citizen sign-up."""

import copy

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ventanilla.accounts.models import User
from ventanilla.citizens.services import normalize_email
from ventanilla.core.forms import AccessibleFormMixin


class LoginForm(AccessibleFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": _("El correo o la contraseña no son correctos. Revíselos e intente de "
                           "nuevo."),
        "inactive": _("Esta cuenta está desactivada."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Correo electrónico")
        self.fields["username"].error_messages["required"] = _("Escriba su correo electrónico.")
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "spellcheck": "false"}
        )
        self.fields["password"].label = _("Contraseña")
        self.fields["password"].error_messages["required"] = _("Escriba su contraseña.")

    def clean_username(self):
        return normalize_email(self.cleaned_data["username"])


class SignupForm(AccessibleFormMixin, forms.Form):
    full_name = forms.CharField(
        label=_("Nombre completo"), max_length=150,
        error_messages={"required": _("Escriba su nombre completo.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Correo electrónico"), max_length=254,
        help_text=_("Le enviaremos un enlace para confirmarlo."),
        error_messages={"required": _("Escriba su correo electrónico."),
                        "invalid": _("Escriba un correo válido, por ejemplo nombre@dominio.cl.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    password1 = forms.CharField(
        label=_("Contraseña"), strip=False,
        help_text=_("Al menos 10 caracteres; que no sea solo números ni una contraseña común."),
        error_messages={"required": _("Escriba una contraseña.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Repita la contraseña"), strip=False,
        error_messages={"required": _("Repita la contraseña.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_full_name(self):
        value = self.cleaned_data["full_name"].strip()
        if not value:
            raise ValidationError(_("Escriba su nombre completo."), code="required")
        return value

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("Ya existe una cuenta con este correo. Ingrese con su contraseña."),
                code="duplicate",
            )
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Las contraseñas no coinciden."))
        elif password1:
            candidate = User(
                email=cleaned.get("email") or "", first_name=cleaned.get("full_name") or ""
            )
            try:
                password_validation.validate_password(password1, user=candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class SecondFactorForm(AccessibleFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Código de verificación"), max_length=20, strip=True,
        help_text=_("Los 6 dígitos que muestra su aplicación autenticadora, o uno de sus "
                    "códigos de recuperación."),
        error_messages={"required": _("Escriba el código.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text",
                                      "spellcheck": "false", "autocapitalize": "off"}),
    )


class TotpEnrolForm(AccessibleFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Código que muestra la aplicación"), max_length=10, strip=True,
        help_text=_("6 dígitos."),
        error_messages={"required": _("Escriba el código que muestra la aplicación.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9 ]*"}),
    )


class ReauthForm(AccessibleFormMixin, forms.Form):
    """Confirm the password (and the code when the person has a second factor)."""

    password = forms.CharField(
        label=_("Contraseña"), strip=False,
        error_messages={"required": _("Escriba su contraseña.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, with_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_code:
            self.fields["code"] = copy.deepcopy(SecondFactorForm.base_fields["code"])


class PasswordChangeForm(AccessibleFormMixin, forms.Form):
    """A new password for a logged-in person (their identity was just confirmed by the
    re-authentication step, so the current password is not asked twice)."""

    new_password1 = forms.CharField(
        label=_("Contraseña nueva"), strip=False,
        error_messages={"required": _("Escriba la contraseña nueva.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("Repita la contraseña nueva"), strip=False,
        error_messages={"required": _("Repita la contraseña nueva.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(
            password_validation.password_validators_help_texts(
                password_validation.get_default_password_validators()
            )
        )

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if password1 and password2 and password1 != password2:
            self.add_error("new_password2", _("Las contraseñas no coinciden."))
        elif password1:
            if self.user.check_password(password1):
                self.add_error("new_password1",
                               _("La contraseña nueva debe ser distinta de la actual."))
                return cleaned
            try:
                password_validation.validate_password(password1, user=self.user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned
