"""The strict Content-Security-Policy in a real browser: the main pages of every audience load
without a single violation (reported by Chromium's ``securitypolicyviolation`` event and its
console) and the behaviour that needs JavaScript still works under the policy."""

import re

import pytest

from tests.factories import MembershipFactory, UserFactory, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.core.models import Comuna
from ventanilla.reports.services import rollup_rebuild

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Runs in every page before its own scripts (added through the DevTools protocol, so the
# policy does not apply to it) and forwards each violation to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    page: document.location.href, directive: event.violatedDirective,
    blocked: event.blockedURI, sample: event.sample,
  });
});
"""


@pytest.fixture
def csp_context(browser):
    """A browser context that records every CSP violation of every page it opens."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CL")
    violations = []
    context.expose_binding("reportCspViolation", lambda source, report: violations.append(report))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda message: violations.append({"console": message.text}) if (
        "Content Security Policy" in message.text) else None)
    yield page, violations
    context.close()


def _login(page, base_url, email):
    page.goto(f"{base_url}/cuenta/ingresar/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", "clave-segura-123")
    page.get_by_role("button", name=re.compile("Ingresar")).click()


def _assert_no_violation(page, violations, where):
    # Violation events are dispatched asynchronously: give them a moment before judging.
    page.wait_for_timeout(300)
    assert violations == [], f"{where}: {violations}"


def test_the_policy_is_strict(client, db):
    policy = client.get("/cuenta/ingresar/").headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_public_pages_under_csp(csp_context, live_server, png_file, settings):
    page, violations = csp_context
    settings.ANTISPAM_MIN_SECONDS = 0  # the anti-spam timer is not under test here
    catalog = make_catalog()
    institution = catalog["institution"]
    valparaiso = Comuna.objects.get(code="05101")

    page.goto(f"{live_server.url}/")
    _assert_no_violation(page, violations, "home")

    page.get_by_role("link", name=re.compile(institution.name)).first.click()
    page.wait_for_url(re.compile(rf"/{institution.slug}/solicitud/"))
    page.fill("#id_full_name", "Marcela Rojas Díaz")
    page.fill("#id_email", "marcela.rojas@example.cl")
    page.check(f"input[name=requester_type][value='{catalog['requester_type'].pk}']")
    page.select_option("#id_region", valparaiso.region_id)
    # ventanilla.js runs: the comuna list follows the region.
    assert page.locator("#id_comuna option[value='13101']").is_disabled()
    page.select_option("#id_comuna", valparaiso.code)
    page.check(f"input[name=ticket_type][value='{catalog['complaint'].pk}']")
    page.select_option("#id_topic", str(catalog["topic"].pk))
    page.fill("#id_subject", "Colación llegó fría")
    page.fill("#id_detail", "La colación del martes llegó fría al colegio.")
    page.set_input_files("#id_attachments", str(png_file))
    page.get_by_role("button", name=re.compile("Enviar")).click()
    page.locator(".folio").first.wait_for()
    _assert_no_violation(page, violations, "request form and confirmation")

    page.goto(f"{live_server.url}/seguimiento/")
    page.get_by_role("button", name=re.compile("Consultar")).click()
    # ventanilla.js moves focus to the error summary.
    page.wait_for_function(
        "document.activeElement && document.activeElement.hasAttribute('data-error-summary')")
    _assert_no_violation(page, violations, "tracking")

    page.goto(f"{live_server.url}/cuenta/ingresar/")
    _assert_no_violation(page, violations, "login")

    page.goto(f"{live_server.url}/pagina-que-no-existe/")
    assert page.get_by_role("heading", name="Página no encontrada").count() == 1
    _assert_no_violation(page, violations, "404")


def test_staff_pages_under_csp(csp_context, live_server):
    page, violations = csp_context
    catalog = make_catalog()
    ticket = open_ticket(catalog)
    rollup_rebuild()  # the dashboards read the rollups
    # A role without a compulsory second factor: the login flow is tested in tests/accounts.
    staff = UserFactory(email="canal@example.cl")
    MembershipFactory(user=staff, institution=catalog["institution"], role=Role.TRIAGE)
    auditor = UserFactory(email="auditora@example.cl")
    MembershipFactory(user=auditor, institution=catalog["institution"], role=Role.AUDITOR)

    _login(page, live_server.url, "canal@example.cl")
    page.wait_for_url(re.compile(r"/consola/"))
    page.goto(f"{live_server.url}/consola/")
    page.get_by_role("link", name=ticket.folio).wait_for()
    _assert_no_violation(page, violations, "inbox")

    page.get_by_role("link", name=ticket.folio).click()
    page.wait_for_url(re.compile(rf"/consola/r/{ticket.folio}/"))
    _assert_no_violation(page, violations, "ticket detail")

    # The dashboards are for auditors and supervisors: log out (the header's form) and in.
    page.get_by_role("button", name="Salir").click()
    page.wait_for_url(re.compile(r"/$"))
    _login(page, live_server.url, "auditora@example.cl")
    page.wait_for_url(re.compile(r"/consola/"))
    page.goto(f"{live_server.url}/consola/tableros/")
    page.locator("svg.chart").first.wait_for(state="attached")
    _assert_no_violation(page, violations, "dashboards")

    # The language selector submits its form from ventanilla.js (form-action 'self').
    page.select_option("#lang-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    _assert_no_violation(page, violations, "language switch")


def test_api_docs_and_admin_under_csp(csp_context, live_server):
    page, violations = csp_context

    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI is built by JavaScript: its title and an operation appear only if it ran.
    page.locator(".swagger-ui .info .title").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/tickets/").first.wait_for()
    _assert_no_violation(page, violations, "Swagger UI")

    # The admin site logs in through the platform's login page (password, second factor).
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("input[name=password]").wait_for()
    _assert_no_violation(page, violations, "admin login")
