"""The one settings module. Every environment variable the platform reads is read here.

VENTANILLA_ENV selects the profile:
- ``development`` (default): insecure defaults are allowed so ``make run`` works on a laptop.
- ``production``: refuses to start without SECRET_KEY and ALLOWED_HOSTS.
- ``test``: used by the test suite (fast password hashing, tasks run immediately).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("VENTANILLA_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = os.environ.get("VENTANILLA_ENV", "development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured("VENTANILLA_ENV must be development, production or test.")
IS_PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=False)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required in production.")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if IS_PRODUCTION else "localhost,127.0.0.1,[::1]")
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Public address of the site, used in links inside e-mails (the worker has no request).
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ventanilla.core",
    "ventanilla.accounts",
    "ventanilla.catalog",
    "ventanilla.citizens",
    "ventanilla.tickets",
    "ventanilla.notifications",
    "ventanilla.channels",
    "ventanilla.paper",
    "ventanilla.imports",
    "ventanilla.surveys",
    "ventanilla.reports",
    "ventanilla.routing",
    "ventanilla.sla",
    "ventanilla.api",
    "ventanilla.open311",
    "ventanilla.portal",
    "ventanilla.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ventanilla.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ventanilla.urls"
WSGI_APPLICATION = "ventanilla.wsgi.application"
ASGI_APPLICATION = "ventanilla.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite (WAL, immediate transactions so concurrent writers queue instead of failing) is the
# embedded default; PostgreSQL through DATABASE_URL in production.
DEFAULT_SQLITE_PATH = VAR_DIR / "ventanilla.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
_database = dj_database_url.parse(
    DATABASE_URL, conn_max_age=0 if DATABASE_URL.startswith("sqlite") else 60
)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    if _database["NAME"] not in ("", ":memory:"):
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # The test database is a file, not memory, so threads share it and the concurrency tests
    # exercise SQLite's real locking too.
    _database.setdefault("TEST", {})["NAME"] = os.environ.get(
        "SQLITE_TEST_NAME", str(VAR_DIR / "test-ventanilla.sqlite3")
    )
else:
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:after-login"
LOGOUT_REDIRECT_URL = "portal:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 60 * 60 * 8  # one working day
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "31536000" if IS_PRODUCTION else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "es-cl"
LANGUAGES = [("es-cl", _("Español (Chile)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Santiago"  # shown to people; stored in UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

# --- Static files and uploads --------------------------------------------------------------------
STATIC_URL = "/static/"
# Project-wide assets (base stylesheet and script); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Uploads are never served by URL: they are read through permission-checked views.
MEDIA_URL = "/_private-media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # S3-compatible object storage (MinIO, Ceph, AWS…); credentials come from the usual
    # AWS_* variables read by django-storages.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
ATTACHMENT_MAX_FILES = int(os.environ.get("ATTACHMENT_MAX_FILES", "5"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# A citizen's message on a ticket closed less than this many days ago reopens it.
TICKET_REOPEN_WINDOW_DAYS = int(os.environ.get("TICKET_REOPEN_WINDOW_DAYS", "30"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Cache and public API -------------------------------------------------------------------
# The API throttles count in the cache, which must be shared by every process: Redis when
# REDIS_URL/CACHE_URL is set, else the database cache (table made by migration api/0002).
_cache_url = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL", "")
if ENVIRONMENT == "test":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _cache_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "ventanilla_cache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ventanilla.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "ventanilla.api.throttling.ApiKeyRateThrottle",
        "ventanilla.api.throttling.AnonIpRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("API_RATE_KEY", "600/min"),
        "anon": os.environ.get("API_RATE_ANON", "60/min"),
        "staff": os.environ.get("API_RATE_STAFF", "600/min"),
    },
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ventanilla.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ventanilla API",
    "DESCRIPTION": "API pública de Ventanilla: ingreso y seguimiento de requerimientos, "
                   "catálogos. Autenticación: `Authorization: Api-Key vk_...`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "TicketStageEnum": "ventanilla.tickets.models.ResponseStage",
        "AnswerStageEnum": ["plan", "final"],
    },
}

# --- E-mail ---------------------------------------------------------------------------------
# Without EMAIL_HOST the messages go to the log (console backend), so `make run` needs no server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Ventanilla <no-responder@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Background tasks ------------------------------------------------------------------------
# django-tasks with the database backend by default (no extra service): ``ventanilla worker``
# (started by ``ventanilla serve``) runs ``db_worker`` for every queue below. TASKS_BACKEND=rq
# keeps the queue in Redis (REDIS_URL) and the same command runs RQ workers instead: it
# takes the queue's writes off a busy PostgreSQL primary; it is not faster per worker
# (bench/bench_queue.py). Run ``migrate`` once after switching (django-rq's migrations).
# Either way a lost notification job loses nothing: the outbox row is the truth and the
# worker's periodic outbox replay re-queues it. TASKS_BACKEND=immediate runs them inline (tests).
_tasks_backend = os.environ.get(
    "TASKS_BACKEND", "immediate" if ENVIRONMENT == "test" else "database"
)
TASK_QUEUES = ["default", "notifications"]
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "rq": "django_tasks_rq.RQBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
        }[_tasks_backend],
        "QUEUES": TASK_QUEUES,
    }
}
# Task processes per ``ventanilla worker`` (each one claims one task at a time).
WORKER_PROCESSES = int(os.environ.get("WORKER_PROCESSES", "1"))
# Finished task rows (database backend) older than this are deleted by the worker each hour.
TASK_RESULT_RETENTION_DAYS = int(os.environ.get("TASK_RESULT_RETENTION_DAYS", "7"))
# The Redis-backed queue. Only with TASKS_BACKEND=rq are django-rq's apps installed, so the
# default installation carries no Redis admin pages or checks. Redis should run with
# appendonly yes / appendfsync everysec and maxmemory-policy noeviction.
TASKS_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {name: {"URL": TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 300} for name in TASK_QUEUES}
RQ = {
    "JOB_CLASS": "django_tasks_rq.Job",
    # In-process worker (no fork per job: ~30 times cheaper per job than RQ's default).
    "WORKER_CLASS": "ventanilla.notifications.tasks.TaskWorker",
}
if _tasks_backend == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))

if ENVIRONMENT == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Provider channels (issue 5) -------------------------------------------------------------
# Where each institution receives is a ``channels.ChannelEndpoint`` row (admin); what is
# secret or deployment-wide is here, from the environment. Tests point the base URLs at
# local fake provider servers.
# Meta (WhatsApp Cloud API, Messenger, Instagram): one app per deployment.
META_APP_SECRET = os.environ.get("META_APP_SECRET", "")  # checks X-Hub-Signature-256
META_VERIFY_TOKEN = os.environ.get("META_VERIFY_TOKEN", "")  # the webhook handshake
META_ACCESS_TOKEN = os.environ.get("META_ACCESS_TOKEN", "")  # Graph API calls
META_GRAPH_BASE_URL = os.environ.get("META_GRAPH_BASE_URL", "https://graph.facebook.com/v21.0")
# Approved template sent outside WhatsApp's 24-hour customer-service window.
WHATSAPP_NOTICE_TEMPLATE = os.environ.get("WHATSAPP_NOTICE_TEMPLATE", "ventanilla_aviso")
WHATSAPP_NOTICE_TEMPLATE_LANGUAGE = os.environ.get("WHATSAPP_NOTICE_TEMPLATE_LANGUAGE", "es")
# Twilio (SMS).
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com")
# Most segments one outbound SMS may use (GSM-7: 153 characters each, UCS-2: 67).
SMS_MAX_SEGMENTS = int(os.environ.get("SMS_MAX_SEGMENTS", "3"))
# How long the personal tracking link sent by SMS/WhatsApp stays valid.
TRACKING_LINK_MAX_AGE_DAYS = int(os.environ.get("TRACKING_LINK_MAX_AGE_DAYS", "365"))
# Write á as a, etc. when that keeps an SMS in GSM-7 (160 characters a part instead of 70).
SMS_TRANSLITERATE = env_bool("SMS_TRANSLITERATE", default=True)
# Timeout for calls to provider APIs, in seconds.
PROVIDER_HTTP_TIMEOUT = float(os.environ.get("PROVIDER_HTTP_TIMEOUT", "15"))
# Inbound e-mail: the IMAP mailbox `ventanilla fetch-mail` polls (also run by the worker
# every FETCH_MAIL_EVERY seconds when IMAP_HOST is set), and the SMTP/LMTP receiver
# (`ventanilla receive-mail`).
IMAP_HOST = os.environ.get("IMAP_HOST", "")
IMAP_PORT = int(os.environ.get("IMAP_PORT", "993"))
IMAP_USER = os.environ.get("IMAP_USER", "")
IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD", "")
IMAP_SSL = env_bool("IMAP_SSL", default=True)
IMAP_MAILBOX = os.environ.get("IMAP_MAILBOX", "INBOX")
FETCH_MAIL_EVERY = int(os.environ.get("FETCH_MAIL_EVERY", "60"))
INBOUND_MAIL_MAX_BYTES = int(os.environ.get("INBOUND_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))

# --- Trust (issue 8) ---------------------------------------------------------------------------
# Each block below belongs to one part of the trust work; keep each part's settings in its block.

# --- Trust: staff authentication (passwords, TOTP, lock-out, sessions, re-authentication) ---
from datetime import timedelta as _timedelta  # noqa: E402

# Passwords: Django's validators plus a longer minimum for staff and a ban on the person's
# own name, e-mail and institution (ventanilla.accounts.passwords).
AUTH_PASSWORD_VALIDATORS += [
    {"NAME": "ventanilla.accounts.passwords.StaffMinimumLengthValidator",
     "OPTIONS": {"min_length": int(os.environ.get("STAFF_PASSWORD_MIN_LENGTH", "12"))}},
    {"NAME": "ventanilla.accounts.passwords.PersonalInfoValidator"},
]
# Second factor (TOTP): compulsory for these roles in any institution and for admin-site
# users; an institution may make it compulsory for all its staff (InstitutionSecurityPolicy).
STAFF_TOTP_REQUIRED_ROLES = env_list("STAFF_TOTP_REQUIRED_ROLES", "supervisor,sysadmin")
LOGIN_SECOND_STEP_MAX_AGE = 300  # seconds between the password and the code
# Fernet keys (newest first) that encrypt the authenticator secrets at rest
# (ventanilla.accounts.secretbox); without them a key is derived from SECRET_KEY.
SECRET_ENCRYPTION_KEYS = env_list("SECRET_ENCRYPTION_KEYS")
# Re-authentication for sensitive actions (ventanilla.accounts.reauth.require_recent_auth).
REAUTH_MAX_AGE = int(os.environ.get("REAUTH_MAX_AGE", "600"))
# Sessions: idle timeouts and an absolute maximum since login (SESSION_COOKIE_AGE, 8 h).
STAFF_SESSION_IDLE_TIMEOUT = int(os.environ.get("STAFF_SESSION_IDLE_TIMEOUT", "1800"))
CITIZEN_SESSION_IDLE_TIMEOUT = int(os.environ.get("CITIZEN_SESSION_IDLE_TIMEOUT", "7200"))
SESSION_ABSOLUTE_MAX_AGE = SESSION_COOKIE_AGE
# Lock-out (django-axes): 5 failures per account and address, or LOGIN_IP_FAILURE_LIMIT from
# one address, lock for 15 minutes. Wrong second-factor codes count as failures.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE += [
    "ventanilla.accounts.middleware.StaffAuthenticationMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes requires
]
AXES_HANDLER = "ventanilla.accounts.lockout.VentanillaAxesHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_IP_FAILURE_LIMIT = int(os.environ.get("LOGIN_IP_FAILURE_LIMIT", "50"))
AXES_COOLOFF_TIME = _timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_USERNAME_CALLABLE = "ventanilla.accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "ventanilla.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Lock-outs are in the audit log (accounts.lockout); axes' own INFO line on every login is noise.
AXES_VERBOSE = False
# django-axes' records of logins and failed logins (addresses, user agents, e-mails) are
# deleted after this many days by the daily retention job (accounts.services.login_records_prune).
LOGIN_RECORDS_RETENTION_DAYS = int(os.environ.get("LOGIN_RECORDS_RETENTION_DAYS", "90"))
AXES_SENSITIVE_PARAMETERS = ["password", "code", "new_password1", "new_password2"]
# The client address as the rate limits see it (TRUSTED_PROXY_COUNT, abuse block), so a
# reverse proxy's own address is never the one locked.
AXES_CLIENT_IP_CALLABLE = "ventanilla.accounts.lockout.axes_client_ip"

# --- Trust: personal data (access log, portability, retention, erasure, log redaction) ---
# Every handler drops RUTs, e-mail addresses, phone numbers and tokens from log messages
# (ventanilla.core.logging). Handlers added by other blocks get it too when they are added
# before this line; a handler added later should list "redact_personal_data" itself.
LOGGING.setdefault("filters", {})["redact_personal_data"] = {
    "()": "ventanilla.core.logging.RedactPersonalDataFilter"}
for _handler in LOGGING["handlers"].values():
    _handler.setdefault("filters", [])
    if "redact_personal_data" not in _handler["filters"]:
        _handler["filters"].append("redact_personal_data")
# Closed tickets of a type without a RetentionRule: erasure is refused for this many years
# after closing (the institution's archive duties); they are never anonymised automatically.
PRIVACY_DEFAULT_LEGAL_HOLD_YEARS = int(os.environ.get("PRIVACY_DEFAULT_LEGAL_HOLD_YEARS", "2"))
# How many tickets one retention transaction anonymises (the worker runs it daily).
RETENTION_CHUNK_SIZE = int(os.environ.get("RETENTION_CHUNK_SIZE", "200"))
# The audit log (who read or changed what) is kept this many years, then deleted by the daily
# retention job: long enough to answer for any access within the limitation periods, not
# forever (it names people and staff). 0 keeps it forever.
AUDIT_RETENTION_YEARS = int(os.environ.get("AUDIT_RETENTION_YEARS", "5"))
# Seconds between the worker's retention runs (0: never; run `ventanilla apply_retention`).
# 0 in the test profile, like the uptime probe: a test's worker must not anonymise its data.
RETENTION_EVERY = int(os.environ.get("RETENTION_EVERY",
                                     "0" if ENVIRONMENT == "test" else str(24 * 3600)))

# --- Trust: abuse (rate limits, anti-spam, uploads, antivirus) ---
# Client address for rate limits: with N trusted reverse proxies in front, the address the
# outermost one saw is the N-th X-Forwarded-For entry from the right; entries to its left
# were written by the client and are never used. 0: REMOTE_ADDR only. BEHIND_PROXY=1
# (HTTP hardening block) implies one proxy unless TRUSTED_PROXY_COUNT says otherwise.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT")
                          or (1 if env_bool("BEHIND_PROXY") else 0))
# DRF's anonymous throttle reads the same header: its default (NUM_PROXIES None) would take
# the whole client-supplied X-Forwarded-For as the identity, defeating the limit.
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
# Web rate limits (core/ratelimit.py): "<count>/<period>", period s, m, min, h, d,
# optionally with a number ("10/10m"). Counted in the shared cache like the API throttles.
# Off by default in the test profile (one cache for the whole run); tests turn them on.
RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", default=ENVIRONMENT != "test")
RATE_LIMITS = {
    scope: os.environ.get(f"RATE_LIMIT_{scope.upper()}", default)
    for scope, default in {
        "request_form": "20/h",       # portal request form submissions, per IP
        "track": "30/10m",            # tracking lookups (folio + e-mail), per IP
        "track_folio": "10/10m",      # tracking lookups of one folio, from any IP
        "track_view": "300/10m",      # tracking pages and personal links, per IP
        "signup": "10/h",             # account sign-ups, per IP
        "verify_resend": "5/h",       # verification e-mail re-sends, per IP
        "survey": "30/10m",           # survey answers, per IP
        "paper_form": "60/10m",       # printable PDF form (generated), per IP
        "open311_post": "60/10m",     # Open311 POST (before the api_key check), per IP
    }.items()
}
# Anti-spam on the anonymous request form: a honeypot field and a signed timestamp that
# must be between ANTISPAM_MIN_SECONDS and ANTISPAM_MAX_AGE_SECONDS old; the same content
# from the same address within ANTISPAM_DUPLICATE_SECONDS returns the first folio.
# The test profile accepts a form without the timestamp (test payloads carry none).
ANTISPAM_MIN_SECONDS = int(os.environ.get("ANTISPAM_MIN_SECONDS", "3"))
ANTISPAM_MAX_AGE_SECONDS = int(os.environ.get("ANTISPAM_MAX_AGE_SECONDS", str(2 * 3600)))
ANTISPAM_REQUIRE_TOKEN = env_bool("ANTISPAM_REQUIRE_TOKEN", default=ENVIRONMENT != "test")
ANTISPAM_DUPLICATE_SECONDS = int(os.environ.get(  # 0: off (the test profile's default)
    "ANTISPAM_DUPLICATE_SECONDS", "0" if ENVIRONMENT == "test" else "600"))
# Uploads: images larger than this many pixels are refused before decoding (decompression
# bombs); a 10 MB JPEG from a phone is about 12-50 Mpx.
ATTACHMENT_MAX_IMAGE_PIXELS = int(os.environ.get("ATTACHMENT_MAX_IMAGE_PIXELS", "60000000"))
# Optional ClamAV: clamd's unix socket (CLAMD_SOCKET) or TCP address (CLAMD_HOST, CLAMD_PORT).
# When set every upload is scanned before it is stored. CLAMD_FAIL_OPEN=1 accepts uploads
# while clamd is unreachable (default: refuse them and ask to retry later).
CLAMD_SOCKET = os.environ.get("CLAMD_SOCKET", "")
CLAMD_HOST = os.environ.get("CLAMD_HOST", "")
CLAMD_PORT = int(os.environ.get("CLAMD_PORT", "3310"))
CLAMD_TIMEOUT = float(os.environ.get("CLAMD_TIMEOUT", "30"))
CLAMD_FAIL_OPEN = env_bool("CLAMD_FAIL_OPEN", default=False)

# --- Trust: HTTP hardening (CSP, HSTS, cookies, deploy checks) ---
# A production key must be long and random: it signs sessions, password-reset and tracking
# links (Django's own criteria for check --deploy's security.W009).
if IS_PRODUCTION and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 random characters in production "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
# Content-Security-Policy (django-csp 4): scripts, styles, images and fonts from this server
# only; no inline script or style is allowed anywhere (the templates carry none and the
# scripts hook on data- attributes), so injected markup cannot run code. Views that need
# more say so with django-csp's decorators (the API docs page: see api/urls.py).
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead,
# to try a change on a live site; CSP_REPORT_URI collects the browsers' violation reports.
from csp.constants import NONE as _CSP_NONE  # noqa: E402
from csp.constants import SELF as _CSP_SELF  # noqa: E402

_csp_directives = {
    "default-src": [_CSP_SELF],
    "script-src": [_CSP_SELF],
    "style-src": [_CSP_SELF],
    "img-src": [_CSP_SELF],
    "font-src": [_CSP_SELF],
    "connect-src": [_CSP_SELF],
    "object-src": [_CSP_NONE],
    "base-uri": [_CSP_NONE],
    "frame-ancestors": [_CSP_NONE],
    "form-action": [_CSP_SELF],
}
if os.environ.get("CSP_REPORT_URI"):
    _csp_directives["report-uri"] = os.environ["CSP_REPORT_URI"]
# (No setting named CSP_*: django-csp 4 takes any such name for a pre-4.0 setting.)
if env_bool("CSP_REPORT_ONLY"):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _csp_directives}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _csp_directives}
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "ventanilla.core.http_headers.SecurityHeadersMiddleware",
)
PERMISSIONS_POLICY_DISABLED = [
    "camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth",
    "display-capture", "browsing-topics",
]
CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Cookies: Secure in production (set in the Auth block), SameSite=Lax so a cross-site POST
# carries no session; the CSRF cookie is HttpOnly because every script reads the token from
# the form's hidden input, never from the cookie.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Plain-HTTP requests are redirected to HTTPS in production. SECURE_SSL_REDIRECT=0 is for a
# proxy that terminates TLS and redirects itself; it then has to be declared (BEHIND_PROXY)
# so Django trusts its X-Forwarded-Proto and still builds https links and Secure cookies.
if IS_PRODUCTION and not SECURE_SSL_REDIRECT and not env_bool("BEHIND_PROXY"):
    raise ImproperlyConfigured(
        "SECURE_SSL_REDIRECT=0 in production needs BEHIND_PROXY=1 (the proxy terminates TLS "
        "and redirects plain HTTP)."
    )
# (The health endpoints' exemption from the redirect is in the operations block.)
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", [])]
if IS_PRODUCTION and not SECURE_SSL_REDIRECT:
    # Only reachable with BEHIND_PROXY (above): the proxy does the redirect.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if not SECURE_HSTS_PRELOAD:
    # Preloading is a decision of the owner of the whole registrable domain (it binds every
    # subdomain of the institution and takes months to undo), not of this application;
    # opt in with SECURE_HSTS_PRELOAD=1 once that owner has decided.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Trust: operations (backup, restore, health, uptime, availability) ---
# (faults) Outbox retries: the wait after the n-th failed attempt is
# OUTBOX_BACKOFF_SECONDS * 2^(n-1), capped at OUTBOX_BACKOFF_MAX_SECONDS, so a message is
# tried at least every 15 minutes however long the provider was down.
OUTBOX_BACKOFF_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30"))
# (faults)
OUTBOX_BACKOFF_MAX_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS", "900"))
# (faults) A message that keeps failing with retryable errors is given up (status failed)
# only once it has had OUTBOX_MAX_ATTEMPTS attempts AND is this old: an outage of hours
# (provider down, network cut) loses nothing, it is delivered when the provider is back.
OUTBOX_RETRY_HOURS = float(os.environ.get("OUTBOX_RETRY_HOURS", "72"))
# (faults) A message claimed for sending longer ago than this is taken back by the outbox
# replay (its worker died). Keep it well above EMAIL_TIMEOUT and PROVIDER_HTTP_TIMEOUT: a
# slow but live worker must never lose its claim (the message would be sent twice).
OUTBOX_CLAIM_TIMEOUT_SECONDS = float(os.environ.get("OUTBOX_CLAIM_TIMEOUT_SECONDS", "600"))
# (faults) The outbox replay re-queues a due message only once it has waited this long for
# its own job (a job lost with a task process that died; shorter in tests).
OUTBOX_REPLAY_GRACE_SECONDS = float(os.environ.get("OUTBOX_REPLAY_GRACE_SECONDS", "60"))
# (faults) Seconds an API client is told to wait (Retry-After) when the database is
# unreachable (503 instead of a 500; a retry with the same Idempotency-Key is safe).
DATABASE_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("DATABASE_UNAVAILABLE_RETRY_AFTER", "5"))
# ``ventanilla backup`` writes here unless --output says otherwise (one .tar.gz per run).
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", VAR_DIR / "backups"))
# PostgreSQL client programs used by backup/restore (the password goes in PGPASSWORD).
PG_DUMP_PATH = os.environ.get("PG_DUMP_PATH", "pg_dump")
PG_RESTORE_PATH = os.environ.get("PG_RESTORE_PATH", "pg_restore")
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # libpq waits forever for an unreachable server by default: a health check (and every
    # request) would hang instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "10")))
INSTALLED_APPS += ["ventanilla.operations"]
# Files in the storage that no row points to and older than this (seconds) are deleted by the
# worker every STORAGE_SWEEP_EVERY seconds (daily; 0 = never, the test profile's default).
STORAGE_ORPHAN_MIN_AGE = int(os.environ.get("STORAGE_ORPHAN_MIN_AGE", "86400"))
STORAGE_SWEEP_EVERY = int(os.environ.get("STORAGE_SWEEP_EVERY",
                                         "0" if ENVIRONMENT == "test" else "86400"))
# Load balancers and the uptime probe call /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz"]
# Uptime probe, run by ``ventanilla worker``: every UPTIME_PROBE_EVERY seconds it asks the web
# (UPTIME_PROBE_URL, SITE_URL/healthz by default) and checks the database and the queue itself.
# (0 = no probe: the default of the test profile, whose workers have no web to probe.)
UPTIME_PROBE_EVERY = int(os.environ.get("UPTIME_PROBE_EVERY",
                                        "0" if ENVIRONMENT == "test" else "60"))
_uptime_period = UPTIME_PROBE_EVERY or 60
UPTIME_PROBE_TIMEOUT = float(os.environ.get("UPTIME_PROBE_TIMEOUT", "5"))
UPTIME_PROBE_URL = os.environ.get("UPTIME_PROBE_URL", SITE_URL.rstrip("/") + "/healthz")
# A successful probe vouches for the service this long at most; beyond it, without a newer
# probe, the time is "unknown" (the worker itself was not watching).
UPTIME_PROBE_VALID_FOR = int(os.environ.get("UPTIME_PROBE_VALID_FOR",
                                            str(3 * _uptime_period)))
UPTIME_RETENTION_DAYS = int(os.environ.get("UPTIME_RETENTION_DAYS", "800"))
# The tender: 99 % a month; at most 12 outages a calendar year, none longer than 4 hours.
AVAILABILITY_TARGET_PERCENT = os.environ.get("AVAILABILITY_TARGET_PERCENT", "99")
AVAILABILITY_MAX_OUTAGES_PER_YEAR = int(os.environ.get("AVAILABILITY_MAX_OUTAGES_PER_YEAR", "12"))
AVAILABILITY_MAX_OUTAGE_HOURS = float(os.environ.get("AVAILABILITY_MAX_OUTAGE_HOURS", "4"))
# /healthz: the database answers SELECT 1 within this; the worker's last probe is at most
# HEALTH_WORKER_MAX_AGE old; the oldest ready task waits at most HEALTH_QUEUE_MAX_AGE.
HEALTH_DATABASE_TIMEOUT_MS = int(os.environ.get("HEALTH_DATABASE_TIMEOUT_MS", "2000"))
HEALTH_WORKER_MAX_AGE = int(os.environ.get("HEALTH_WORKER_MAX_AGE",
                                           str(3 * _uptime_period)))
HEALTH_QUEUE_MAX_AGE = int(os.environ.get("HEALTH_QUEUE_MAX_AGE", "600"))
