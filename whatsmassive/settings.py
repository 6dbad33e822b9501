"""WhatsMassive settings: one file, every deployment difference comes from the environment."""

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

# Lets admin and other generic classes be subscripted at run time (ModelAdmin[Debtor]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# The fallback key only ever serves DEBUG runs; production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "whatsmassive",
    "sessions_app",
    "debtors",
    "campaigns",
    "inbox",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "whatsmassive.languages.UserLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "whatsmassive.user_sessions.SessionIdleMiddleware",
    "whatsmassive.two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "whatsmassive.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "whatsmassive.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# SQLite (the `make run` default) is shared by web, worker, browser and beat processes:
# WAL lets readers proceed during writes, IMMEDIATE transactions take the write lock up
# front so concurrent writers queue on busy_timeout instead of failing mid-transaction.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'whatsmassive.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif env_bool("DB_PREPARED_STATEMENTS", True):
    # Lets the sending engine prepare its few hot statements (planned once per connection;
    # Django's own queries bind on the client and are never prepared). Turn it off behind
    # a pooler that cannot keep prepared statements (PgBouncer in transaction mode < 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
    # Each of those statements is written for one plan (the claim: a walk of the pending
    # index in its own order), which PostgreSQL's generic plan is. Left to choose, it
    # planned the capped claim afresh on every call, planning costing twice the run.
    db_options = DATABASES["default"]["OPTIONS"]
    db_options["options"] = f"{db_options.get('options', '')} -c plan_cache_mode=force_generic_plan"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes counts failed logins (the app's and the admin's) before Django checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
# Either is enough to lock: one username tried from many places, or one place trying many.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "whatsmassive.proxies.client_ip"
AXES_LOCKOUT_CALLABLE = "whatsmassive.views.login_locked_out"
# How many reverse proxies in front of the app append to X-Forwarded-For (0: trust none).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Staff and Supervisors confirm each session with a code from their phone (TOTP).
REQUIRE_2FA = env_bool("REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = "WhatsMassive"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# The language a request gets when neither the user's preference nor the browser names one
# of LANGUAGES (English is the source text; the demo runs in Spanish).
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("es", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "America/Bogota")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads and error reports hold debtors' personal data: private to the app's user and never
# served as public media (no MEDIA_URL route); reports go through a login-required view.
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Security: strict when DEBUG is off (`manage.py check --deploy` passes).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# X-Forwarded-Proto is believed only from a TLS proxy that sets it (and strips the client's).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A session ends after this long without use (every use pushes the end further).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 480)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"


def websocket_origins(hosts: list[str], *, secure: bool) -> list[str]:
    """The origins the pages' sockets connect to: the allowed hosts, over ws or wss.

    Browsers differ on whether 'self' covers ws(s): to the page's own host, so they are named.
    A CSP source cannot name an IPv6 literal; 'self' covers a page served from one.
    """
    scheme = "wss" if secure else "ws"
    port = "" if secure else ":*"
    return [
        f"{scheme}://{'*' + host if host.startswith('.') else host}{port}"
        for host in hosts
        if host != "*" and not host.startswith("[")
    ]


# Scripts only from our static files, or inline with this response's nonce; no eval (htmx's
# is off, see base.html), no plugins, never framed, forms post only back here.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "connect-src": [CSP.SELF, *websocket_origins(ALLOWED_HOSTS, secure=not DEBUG)],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}


@dataclass(frozen=True)
class EmailServer:
    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False


def email_server(url: str) -> EmailServer:
    """The mail server of EMAIL_URL: smtp://user:pass@host:port (smtp+tls://, smtp+ssl://),
    console:// (print mails), or an empty string (no mail: the password reset pages are off).
    """
    if not url:
        return EmailServer("django.core.mail.backends.dummy.EmailBackend")
    parts = urlsplit(url)
    if parts.scheme == "console":
        return EmailServer("django.core.mail.backends.console.EmailBackend")
    ports = {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}
    if parts.scheme not in ports:
        raise ImproperlyConfigured(
            "EMAIL_URL must start with smtp://, smtp+tls://, smtp+ssl:// or console://, "
            f"got {parts.scheme!r}"
        )
    return EmailServer(
        "django.core.mail.backends.smtp.EmailBackend",
        host=parts.hostname or "localhost",
        port=parts.port or ports[parts.scheme],
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=parts.scheme == "smtp+tls",
        use_ssl=parts.scheme == "smtp+ssl",
    )


EMAIL_URL = env_str("EMAIL_URL", "")
_email = email_server(EMAIL_URL)
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "WhatsMassive <no-reply@localhost>")
# Without a mail server the reset pages could only fail: they are not offered at all.
PASSWORD_RESET_ENABLED = bool(EMAIL_URL)

# Redis carries the Celery broker and the Channels layer.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only after it ran, and a worker that dies mid-task gives it back:
# tasks must therefore be safe to run twice (the engine's state machine guarantees that).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A session host occupies its thread for as long as the account is connected: a worker must
# take a task only when it has a free thread, or a host could wait behind busy ones forever.
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 16 * 60)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fixup closes a worker's database connections every this many tasks, not
# after each one; between, whatsmassive.celery closes them as CONN_MAX_AGE says.
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sends go on without Redis (PostgreSQL decides what was sent): however long Redis is away,
# a worker keeps trying to reconnect instead of giving up after Celery's default 100 tries
# (about 45 minutes) and leaving its session hosts in a worker that no longer consumes.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Long-running session hosts must not be redelivered to a second worker while the first
# still holds them: the visibility timeout is longer than any task may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 12 * 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ROUTES = {"sessions_app.tasks.session_host": {"queue": "browser"}}
# Survives a Redis restart while holding unacknowledged tasks (see the class).
CELERY_WORKER_CONSUMER = "whatsmassive.celery:BrokerLossTolerantConsumer"

# A consumer waits for its next event with a 5 s blocking pop; redis-py 8 reads with a 5 s
# socket timeout by default, which broke every idle socket every 5 s. The read may wait
# longer than the pop, and still gives up on a Redis that stopped answering.
CHANNEL_LAYER_SOCKET_TIMEOUT = 30
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT}]
        },
    }
}

# WhatsApp
WHATSAPP_DRIVER = env_str("WHATSAPP_DRIVER", "sandbox")
WHATSAPP_WEB_URL = env_str("WHATSAPP_WEB_URL", "https://web.whatsapp.com")
WHATSAPP_PROFILES_DIR = Path(env_str("WHATSAPP_PROFILES_DIR", str(VAR_DIR / "profiles")))
WHATSAPP_SELECTORS_FILE = env_str("WHATSAPP_SELECTORS_FILE", "")
# 0 shows the Chromium window (a desktop session is needed), e.g. to watch a doctor run.
WHATSAPP_HEADLESS = env_bool("WHATSAPP_HEADLESS", True)
# Seconds to wait for WhatsApp Web to load a screen, and for a message to leave and be sent.
WHATSAPP_PAGE_TIMEOUT = env_int("WHATSAPP_PAGE_TIMEOUT", 60)
WHATSAPP_SEND_TIMEOUT = env_int("WHATSAPP_SEND_TIMEOUT", 30)
# How the selenium driver talks to WhatsApp Web: through wa-js, the DOM, or wa-js with the
# DOM as the fallback when wa-js is not ready within WHATSAPP_WAJS_READY_TIMEOUT seconds.
WHATSAPP_STRATEGY = env_str("WHATSAPP_STRATEGY", "auto")
WHATSAPP_WAJS_READY_TIMEOUT = env_int("WHATSAPP_WAJS_READY_TIMEOUT", 60)
# Another wa-js bundle than the vendored one (its checksum is logged instead of checked).
WHATSAPP_WAJS_FILE = env_str("WHATSAPP_WAJS_FILE", "")
# WhatsApp open in another window: take the account back without asking the operator.
WHATSAPP_TAKEOVER_ON_CONFLICT = env_bool("WHATSAPP_TAKEOVER_ON_CONFLICT", False)
# Account safety (README, "Account safety"). First messages to numbers an account has never
# written to, per local day: the default of a new account's budget, and the warm-up after it
# is linked as "last day:new chats" steps (days 1-3: 10, days 4-7: 20, then the budget).
WHATSAPP_NEW_CHATS_PER_DAY = env_int("WHATSAPP_NEW_CHATS_PER_DAY", 30)
WHATSAPP_WARM_UP = env_str("WHATSAPP_WARM_UP", "3:10,7:20")
# The health score (0-100): below the first its delays double, below the second it pauses.
WHATSAPP_HEALTH_SLOW_BELOW = env_int("WHATSAPP_HEALTH_SLOW_BELOW", 60)
WHATSAPP_HEALTH_PAUSE_BELOW = env_int("WHATSAPP_HEALTH_PAUSE_BELOW", 40)
WHATSAPP_HEALTH_REFRESH_SECONDS = env_float("WHATSAPP_HEALTH_REFRESH_SECONDS", 300.0)
CHROME_BINARY = env_str("CHROME_BINARY", "/usr/bin/chromium")
CHROMEDRIVER_PATH = env_str("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")
# The sandbox network: its send log lives here; latency 1.0 is realistic, 0 sends instantly.
WHATSAPP_SANDBOX_DIR = Path(env_str("WHATSAPP_SANDBOX_DIR", str(VAR_DIR / "sandbox")))
WHATSAPP_SANDBOX_LATENCY = env_float("WHATSAPP_SANDBOX_LATENCY", 1.0)

# Session hosts and the engine (seconds unless named otherwise).
HOST_HEARTBEAT_SECONDS = env_float("HOST_HEARTBEAT_SECONDS", 5.0)
HOST_STALE_SECONDS = env_float("HOST_STALE_SECONDS", 60.0)
HOST_POLL_SECONDS = env_float("HOST_POLL_SECONDS", 2.0)
ENGINE_CLAIM_LEASE_SECONDS = env_int("ENGINE_CLAIM_LEASE_SECONDS", 60)
ENGINE_SEND_TIMEOUT_SECONDS = env_int("ENGINE_SEND_TIMEOUT_SECONDS", 180)
ENGINE_MAX_ATTEMPTS = env_int("ENGINE_MAX_ATTEMPTS", 3)
ENGINE_AUTO_PAUSE_WINDOW = env_int("ENGINE_AUTO_PAUSE_WINDOW", 20)
ENGINE_AUTO_PAUSE_ERROR_RATE = env_float("ENGINE_AUTO_PAUSE_ERROR_RATE", 0.5)
ENGINE_SWEEP_SECONDS = env_float("ENGINE_SWEEP_SECONDS", 5.0)
CELERY_BEAT_SCHEDULE = {
    "engine-sweep": {"task": "campaigns.tasks.sweep", "schedule": ENGINE_SWEEP_SECONDS},
    "end-idle-sessions": {"task": "whatsmassive.tasks.sessions_end", "schedule": 60.0},
    "supervise-sessions": {
        "task": "sessions_app.tasks.supervise_sessions",
        "schedule": ENGINE_SWEEP_SECONDS,
    },
    "refresh-account-health": {
        "task": "sessions_app.tasks.refresh_account_health",
        "schedule": WHATSAPP_HEALTH_REFRESH_SECONDS,
    },
    # Imports left at the mapping step for a day go, with their uploaded files.
    "delete-stale-imports": {
        "task": "debtors.tasks.debtor_import_delete_stale_task",
        "schedule": 3600.0,
    },
    "webhooks-sweep": {"task": "webhooks.tasks.webhooks_deliver", "schedule": ENGINE_SWEEP_SECONDS},
    "webhooks-prune": {"task": "webhooks.tasks.webhooks_forget_delivered", "schedule": 3600.0},
    "idempotency-prune": {"task": "api.tasks.idempotent_requests_prune", "schedule": 3600.0},
    # Just after midnight (TIME_ZONE): yesterday's unkept promises to pay become broken.
    "mark-broken-promises": {
        "task": "debtors.tasks.dispositions_mark_broken_task",
        "schedule": crontab(hour=0, minute=5),
    },
}

# The Django cache is Redis: the API's per-key throttling counts there, shared by every
# web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "whatsmassive",
    }
}

# The HTTP API (`/api/v1/`): API keys or a browser session, JSON problem details for errors.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "600/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.KeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.KeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"key": API_THROTTLE_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies, typed as the schema says; only an import's upload is a form (its view says so).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsMassive API",
    "DESCRIPTION": "Debtors, imports, accounts, pools, campaigns, messages and webhooks.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`: each set of values gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "DebtorStatusEnum": "debtors.models.DebtorStatus",
        "ImportStatusEnum": "debtors.models.ImportStatus",
        "AccountStatusEnum": "sessions_app.models.SessionStatus",
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "MessageStatusEnum": "campaigns.models.MessageStatus",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        # And two a `kind`.
        "MessageKindEnum": "campaigns.models.MessageKind",
        "DispositionKindEnum": "debtors.models.DispositionKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
        "api.schema.input_as_accepted",
    ],
}

# Webhooks: endpoints must be https:// on public addresses unless this is on (tests, demo).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_KEEP_DAYS = env_int("WEBHOOK_KEEP_DAYS", 7)
# Engine processes remember which event types have subscribers for this long.
WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS = env_float("WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS", 2.0)

DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "CO")
DEFAULT_CURRENCY = env_str("DEFAULT_CURRENCY", "COP")
# New campaigns leave out debtors sent a message within this many days (the form may change it).
CAMPAIGN_RECONTACT_DAYS = env_int("CAMPAIGN_RECONTACT_DAYS", 7)

# Debtor imports: limits that keep a hostile or broken file from exhausting the server.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_XLSX_MAX_ENTRIES = env_int("IMPORT_XLSX_MAX_ENTRIES", 1000)
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = env_int(
    "IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", 500 * 1024 * 1024
)
IMPORT_XLSX_MAX_RATIO = env_int("IMPORT_XLSX_MAX_RATIO", 200)

# Application logs at or above this level are also stored as SystemLog rows.
SYSTEM_LOG_LEVEL = env_str("SYSTEM_LOG_LEVEL", "INFO").upper()
# Audit records are kept this long (Reg F §1006.100: three years); `manage.py audit_purge`
# refuses to remove anything younger.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 3 * 365 + 1)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "system_log": {
            "class": "whatsmassive.logging.SystemLogHandler",
            "level": SYSTEM_LOG_LEVEL,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        app: {"handlers": ["console", "system_log"], "level": LOG_LEVEL, "propagate": False}
        for app in ("whatsmassive", "sessions_app", "debtors", "campaigns", "api", "webhooks")
    },
}
