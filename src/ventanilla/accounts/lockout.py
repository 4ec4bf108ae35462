"""Login throttling and lock-out with django-axes.

Axes records every failed attempt (password step, second-factor step and re-authentication
all count: the views send Django's ``user_login_failed`` signal for wrong codes) and locks
when either limit is reached within ``AXES_COOLOFF_TIME``:
- ``AXES_FAILURE_LIMIT`` failures for the same account from the same address, or
- ``LOGIN_IP_FAILURE_LIMIT`` failures from one address over any accounts (password spraying;
  higher, since one office or NAT shares an address).
Axes has one limit for all its lock-out parameters, so ``VentanillaAxesHandler`` scales the
per-address count to that single limit. The lock-out page says the same for accounts that
exist and for those that do not.
"""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum
from django.dispatch import receiver
from django.shortcuts import render

from ventanilla.citizens.services import normalize_email


def axes_username(request, credentials) -> str | None:
    """The e-mail as the login form normalises it, so case variants share one counter."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
    return normalize_email(value) if value else None


def axes_client_ip(request) -> str | None:
    """The client address as the rate limits see it (``TRUSTED_PROXY_COUNT``), so a reverse
    proxy's own address is never the one locked. None when unknown (test requests without
    REMOTE_ADDR): PostgreSQL's inet column refuses anything that is not an address."""
    from ventanilla.core.ratelimit import client_ip

    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


class VentanillaAxesHandler(AxesDatabaseHandler):
    """Axes' database handler with a separate, higher limit for the per-address counter."""

    def get_failures(self, request, credentials=None) -> int:
        limit = settings.AXES_FAILURE_LIMIT
        ip_limit = max(settings.LOGIN_IP_FAILURE_LIMIT, 1)
        counts = []
        for parameters, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS, self.get_user_attempts(request, credentials),
            strict=False,
        ):
            total = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameters == "ip_address" or parameters == ["ip_address"]:
                total = total * limit // ip_limit
            counts.append(total)
        return max(counts, default=0)


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    """One audit row per lock-out of an existing account."""
    from ventanilla.accounts.models import User
    from ventanilla.core.services import audit_record

    if getattr(request, "ventanilla_lockout_recorded", False):
        return
    request.ventanilla_lockout_recorded = True
    # Only the failure that reaches the limit starts a lock-out; later attempts during it
    # (axes counts them too, extending the cool-off) are not new lock-outs.
    if getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    user = User.objects.filter(email__iexact=username or "").first()
    if user is None:
        return  # unknown account: axes' own AccessAttempt row is the record
    audit_record(actor=None, action="user.locked_out", obj=user,
                 data={"ip_address": ip_address})
