"""Account pages: login, logout, citizen sign-up, e-mail verification and the landing
page after login (staff go to the console, citizens to their requests)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.accounts.forms import LoginForm, SignupForm
from ventanilla.accounts.selectors import user_has_staff_role
from ventanilla.accounts.services import user_register, user_send_verification, user_verify_email

login_view = auth_views.LoginView.as_view(
    template_name="accounts/login.html", authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
# Django 5 accepts only POST here, so a link or a prefetch cannot log anyone out.
logout_view = auth_views.LogoutView.as_view()


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:after-login")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(
                full_name=form.cleaned_data["full_name"], email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("accounts:signup-done")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD"])
def signup_done(request):
    return render(request, "accounts/signup_done.html")


@require_http_methods(["GET", "HEAD"])
def verify_email(request, token: str):
    try:
        user = user_verify_email(token=token)
    except ValidationError as exc:
        return render(request, "accounts/verify_failed.html",
                      {"expired": exc.code == "expired"}, status=400)
    return render(request, "accounts/verify_done.html", {"verified_user": user})


@login_required
@require_POST
def verify_resend(request):
    if request.user.email_verified_at:
        messages.info(request, _("Su correo ya está confirmado."))
    else:
        user_send_verification(user=request.user)
        messages.success(request, _("Le enviamos un nuevo enlace de confirmación a %(email)s.")
                         % {"email": request.user.email})
    return redirect("portal:my-requests")


@login_required
@require_http_methods(["GET", "HEAD"])
def after_login(request):
    if user_has_staff_role(user=request.user):
        return redirect("console:inbox")
    return redirect("portal:my-requests")
