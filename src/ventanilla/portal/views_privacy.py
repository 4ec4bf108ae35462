"""Citizen pages for their own data: download everything (portability, Ley 21.719) and ask
for erasure. Both need the password again (``require_recent_auth``): a session left open on
a shared computer must not hand out a person's whole file."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from ventanilla.accounts.reauth import require_recent_auth
from ventanilla.citizens import privacy
from ventanilla.citizens.models import ErasureRequest, ErasureStatus
from ventanilla.core.downloads import download_response
from ventanilla.core.forms import AccessibleFormMixin


@login_required
@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def my_data(request):
    """GET: what the download holds; POST: the ZIP."""
    if request.method == "POST":
        content = privacy.self_export(user=request.user)
        filename = f"mis-datos-{timezone.localdate().isoformat()}.zip"
        return download_response(content, filename=filename, content_type="application/zip")
    return render(request, "portal/privacy/my_data.html", {
        "pending_erasure": _pending(request.user),
    })


def _pending(user) -> ErasureRequest | None:
    citizen = getattr(user, "citizen", None)
    if citizen is None:
        return None
    return ErasureRequest.objects.filter(citizen=citizen, status=ErasureStatus.PENDING).first()


class ErasureRequestForm(AccessibleFormMixin, forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Comentario"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Si quiere, cuéntenos qué datos le preocupan."))
    confirm = forms.BooleanField(
        label=gettext_lazy("Pido que se supriman mis datos personales"),
        error_messages={"required": gettext_lazy("Confirme marcando la casilla.")})


@login_required
@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def erasure_request(request):
    form = ErasureRequestForm(request.POST if request.method == "POST" else None)
    pending = _pending(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.erasure_request_create(user=request.user, note=form.cleaned_data["note"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Recibimos su solicitud de supresión. La institución "
                                        "la revisará y le responderá por correo."))
            return redirect("portal:my-requests")
    has_data = getattr(request.user, "citizen", None) is not None
    return render(request, "portal/privacy/erasure_request.html", {
        "form": form, "pending": pending, "has_data": has_data,
    }, status=400 if form.is_bound and form.errors else 200)
