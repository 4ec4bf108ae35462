"""Account pages: login (password, then the second factor), logout, citizen sign-up, e-mail
verification, the landing page after login (staff go to the console, citizens to their
requests), and the security pages: password change, authenticator enrolment, recovery codes,
re-authentication for sensitive actions."""

from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import authenticate, login, update_session_auth_hash, user_login_failed
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.accounts import session_state as state
from ventanilla.accounts import totp
from ventanilla.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    ReauthForm,
    SecondFactorForm,
    SignupForm,
    TotpEnrolForm,
)
from ventanilla.accounts.lockout import lockout_response
from ventanilla.accounts.models import User
from ventanilla.accounts.reauth import mark_recent_auth, require_recent_auth
from ventanilla.accounts.selectors import (
    recovery_codes_remaining,
    user_confirmed_totp_device,
    user_has_second_factor,
    user_has_staff_role,
    user_requires_totp,
)
from ventanilla.accounts.services import (
    recovery_codes_regenerate,
    second_factor_disable,
    second_factor_verify,
    totp_begin_enrolment,
    totp_confirm_enrolment,
    user_change_password,
    user_register,
    user_send_verification,
    user_verify_email,
)
from ventanilla.core.ratelimit import rate_limit


class LoginView(auth_views.LoginView):
    """Step 1: e-mail and password (through django-axes, which counts failures and locks).

    A person with an authenticator is *not* logged in yet: the session remembers who passed
    the password step and the code page finishes the login. Others are logged in now; those
    who must have a second factor and do not are taken to enrolment first.
    """

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_success_url()
        if user_has_second_factor(user=user):
            state.clear_pending_login(self.request)
            # New session key before the half-logged-in state is stored (fixation).
            self.request.session.cycle_key()
            state.begin_pending_login(self.request, user=user, backend=user.backend,
                                      next_url=next_url)
            return redirect("accounts:login-code")
        state.complete_login(self.request, user=user, backend=user.backend,
                             second_factor_checked=False)
        return redirect(_after_login_target(self.request, user, next_url))


login_view = LoginView.as_view()


def _after_login_target(request, user, next_url: str) -> str:
    if user.must_change_password:
        return f"{reverse('accounts:password-change')}?{urlencode({'next': next_url})}"
    if not state.session_second_factor_ok(request):
        return f"{reverse('accounts:totp-enrol')}?{urlencode({'next': next_url})}"
    return next_url


def _safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _login_failed(request, email: str) -> None:
    """A wrong code counts like a wrong password (django-axes listens to this signal)."""
    user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)


def _locked(request, email: str) -> bool:
    return not AxesProxyHandler.is_allowed(request, {"username": email})


@sensitive_post_parameters("code")
@require_http_methods(["GET", "HEAD", "POST"])
def login_code(request):
    """Step 2 of the login: the authenticator code or a recovery code."""
    pending = state.pending_login(request)
    user = None
    if pending is not None:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        state.clear_pending_login(request)
        messages.info(request, _("Ingrese de nuevo con su correo y contraseña."))
        return redirect("accounts:login")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked(request, user.email):
            return lockout_response(request)
        kind = second_factor_verify(user=user, code=form.cleaned_data["code"])
        if kind is None:
            _login_failed(request, user.email)
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            form.add_error("code", _("El código no es correcto o ya fue usado."))
        else:
            next_url = pending.get("next") or reverse("accounts:after-login")
            state.clear_pending_login(request)
            state.complete_login(request, user=user, backend=pending["backend"],
                                 second_factor_checked=True)
            if kind == "recovery":
                remaining = recovery_codes_remaining(user=user)
                messages.warning(request, _("Usó un código de recuperación. Le quedan "
                                            "%(count)d.") % {"count": remaining})
            return redirect(_after_login_target(request, user, next_url))
    return render(request, "accounts/login_code.html", {"form": form})


@require_http_methods(["GET", "HEAD"])
def admin_login(request):
    """The admin site's login page: the same login as everyone (password, second factor,
    lock-out) instead of Django admin's own form."""
    next_url = _safe_next(request, reverse("admin:index"))
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
    if request.user.is_active and request.user.is_staff:
        return redirect(next_url)
    return render(request, "accounts/admin_forbidden.html", status=403)


@sensitive_post_parameters("password", "code")
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reauth(request):
    """Confirm the password (and code) before a sensitive action; see ``reauth.py``."""
    user = request.user
    with_code = user_has_second_factor(user=user)
    next_url = _safe_next(request, reverse("accounts:after-login"))
    form = ReauthForm(request.POST or None, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        if _locked(request, user.email):
            return lockout_response(request)
        # authenticate() runs through django-axes: a wrong password counts as a failure.
        confirmed = authenticate(request, username=user.email,
                                 password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        if confirmed is None or confirmed.pk != user.pk:
            form.add_error("password", _("La contraseña no es correcta."))
        elif with_code and second_factor_verify(user=user, code=form.cleaned_data["code"]) is None:
            _login_failed(request, user.email)
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            form.add_error("code", _("El código no es correcto o ya fue usado."))
        else:
            if with_code:
                state.mark_second_factor_verified(request)
            else:
                mark_recent_auth(request)
            return redirect(next_url)
    return render(request, "accounts/reauth.html",
                  {"form": form, "next": next_url, "with_code": with_code})


@sensitive_post_parameters("new_password1", "new_password2")
@login_required
@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def password_change(request):
    user = request.user
    form = PasswordChangeForm(request.POST or None, user=user)
    forced = user.must_change_password
    if request.method == "POST" and form.is_valid():
        user_change_password(user=user, new_password=form.cleaned_data["new_password1"])
        # This session stays; every other session of the person ends (its hash is stale).
        update_session_auth_hash(request, user)
        mark_recent_auth(request)
        messages.success(request, _("Su contraseña fue cambiada. Las demás sesiones abiertas "
                                    "con su cuenta se cerraron."))
        next_url = _safe_next(request, reverse("accounts:security"))
        return redirect(_after_login_target(request, user, next_url) if forced else next_url)
    return render(request, "accounts/password_change.html",
                  {"form": form, "forced": forced, "next": _safe_next(request, "")})


@login_required
@require_http_methods(["GET", "HEAD"])
def security(request):
    user = request.user
    return render(request, "accounts/security.html", {
        "device": user_confirmed_totp_device(user=user),
        "required": user_requires_totp(user=user),
        "codes_remaining": recovery_codes_remaining(user=user),
    })


@sensitive_post_parameters("code")
@login_required
@require_recent_auth
@require_http_methods(["GET", "HEAD", "POST"])
def totp_enrol(request):
    """Scan the QR (or type the secret), then confirm with a code; shows the recovery codes
    once on success."""
    user = request.user
    next_url = _safe_next(request, reverse("accounts:after-login"))
    if user_has_second_factor(user=user):
        messages.info(request, _("Ya tiene activa una aplicación autenticadora."))
        return redirect("accounts:security")
    device = totp_begin_enrolment(user=user)
    form = TotpEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_confirm_enrolment(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            state.mark_second_factor_verified(request)
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "next": next_url, "first_time": True})
    uri = totp.provisioning_uri(device.secret, user.email)
    return render(request, "accounts/totp_enrol.html", {
        "form": form, "qr_svg": mark_safe(totp.qr_svg(uri)),  # noqa: S308 (segno output)
        "secret": totp.format_secret(device.secret), "next": next_url,
    })


@login_required
@require_recent_auth
@require_POST
def recovery_codes_new(request):
    try:
        codes = recovery_codes_regenerate(user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("accounts:security")
    return render(request, "accounts/recovery_codes.html",
                  {"codes": codes, "next": reverse("accounts:security"), "first_time": False})


@login_required
@require_recent_auth
@require_POST
def totp_disable(request):
    second_factor_disable(user=request.user, actor=request.user)
    request.session.pop(state.MFA_KEY, None)
    if user_requires_totp(user=request.user):
        messages.info(request, _("Desactivó su aplicación autenticadora. Su cuenta necesita "
                                 "una: active la nueva ahora."))
        return redirect("accounts:totp-enrol")
    request.session[state.MFA_KEY] = state.MFA_NOT_REQUIRED
    messages.success(request, _("Desactivó el segundo factor de su cuenta."))
    return redirect("accounts:security")
# Django 5 accepts only POST here, so a link or a prefetch cannot log anyone out.
logout_view = auth_views.LogoutView.as_view()


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("signup")
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
@rate_limit("verify_resend")
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
