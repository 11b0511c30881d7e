"""Banso's one settings module: every value comes from the environment, with defaults that run the demo."""

from pathlib import Path

import django_stubs_ext
import environ

# Lets classes be written with their type parameters (ModelAdmin[Team], ModelForm[Account]) at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(environ.Env().str("BANSO_VAR_DIR", default=str(REPO_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("BANSO_DEBUG", default=False)
SECRET_KEY = env.str("BANSO_SECRET_KEY", default="banso-demo-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("BANSO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("BANSO_CSRF_TRUSTED_ORIGINS", default=[])
# Behind TLS (a proxy setting X-Forwarded-Proto), set BANSO_HTTPS=1: secure cookies, HSTS, HTTPS redirects.
if env.bool("BANSO_HTTPS", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("BANSO_HSTS_SECONDS", default=3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Listed so the API docs use ninja's bundled Swagger UI instead of a CDN (machines may be offline).
    "ninja",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "channels",
    "banso.core",
    "banso.accounts",
    "banso.activity",
    "banso.analytics",
    # churn before health: the demo trains the risk model first, so the health demo's backfilled scores
    # include the churn-risk measure (churn registers it into health's registry; imports go churn -> health).
    "banso.churn",
    "banso.health",
    "banso.success",
    "banso.playbooks",
    "banso.marketplace",
    "banso.billing",
    "banso.funnels",
    # support links inquiries to marketplace bookings and sends mail through the playbooks outbox.
    "banso.support",
    # campaigns reads segments from analytics and sends through the playbooks outbox.
    "banso.campaigns",
    "banso.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the static files under gunicorn, so the demo needs no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "banso.core.middleware.JapaneseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "banso.core.middleware.LoginRequiredMiddleware",
    # Axes last, as its documentation asks, so it sees the final authentication result.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "banso.urls"
WSGI_APPLICATION = "banso.wsgi.application"
# Websockets (support desk's live inbox and chat widget) through Channels under daphne (scripts/demo).
ASGI_APPLICATION = "banso.asgi.application"
# Redis shares live updates between processes; without it each ASGI process uses an in-memory layer and
# catches up from the database once a second (banso.support.realtime).
if env.str("BANSO_REDIS_URL", default=""):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [env.str("BANSO_REDIS_URL")]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
BANSO_LIVE_CATCHUP_SECONDS = env.float("BANSO_LIVE_CATCHUP_SECONDS", default=1.0)

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
                "banso.core.context_processors.navigation",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'banso.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app keep reading while an import or the worker writes. 16 KiB pages (set before WAL,
    # taking effect only when the file is created) make bulk event loads 8% faster than 4 KiB (bench import).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("BANSO_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# One cache for every process (gunicorn workers, the worker): the survey page's rate limit counts per
# client across all of them, and a cached churn analysis serves every worker. Files under var/ by default;
# any django-environ cache URL (redis://…, pymemcache://…) where several machines serve Banso.
CACHES = {"default": env.cache_url("BANSO_CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failed logins (django-axes): per username and address.
AXES_FAILURE_LIMIT = env.int("BANSO_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("BANSO_LOGIN_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
(VAR_DIR / "static").mkdir(exist_ok=True)
# Serve straight from the apps' static folders too, so tests and a fresh checkout need no collectstatic.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

TASKS = {
    "default": {
        "BACKEND": env.str("BANSO_TASK_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# Files above this many bytes are imported by the worker, with progress shown on the import page.
BANSO_IMPORT_INLINE_MAX_BYTES = env.int("BANSO_IMPORT_INLINE_MAX_BYTES", default=2_000_000)
# Help-centre and chatbot search: "lexical", "semantic" or "hybrid" (the best on the Japanese FAQ set;
# `banso support kb-eval` measures all three).
SUPPORT_SEARCH_MODE = env.str("BANSO_SUPPORT_SEARCH_MODE", default="hybrid")
# Marketplace: the booking platform's webhook told when a provider's status changes ("" = not told).
MARKETPLACE_PLATFORM_WEBHOOK_URL = env.str("BANSO_MARKETPLACE_WEBHOOK_URL", default="")
# Analytics (docs/ANALYTICS.md). The events' Parquet copy, and the engine metrics and segments run on:
# "duckdb" (embedded, over that copy), "postgres" (the app database's own event table, when it is
# PostgreSQL), "pyspark" (Spark over the Parquet copy, or over BANSO_ANALYTICS_EVENTS_TABLE), or "url": any
# Ibis connection URL in BANSO_ANALYTICS_URL (trino://, clickhouse://, bigquery://…) whose
# BANSO_ANALYTICS_EVENTS_TABLE holds the events, so they need not be copied in.
BANSO_EVENT_LAKE_DIR = Path(env.str("BANSO_EVENT_LAKE_DIR", default=str(VAR_DIR / "events")))
BANSO_ANALYTICS_BACKEND = env.str("BANSO_ANALYTICS_BACKEND", default="duckdb")
BANSO_ANALYTICS_URL = env.str("BANSO_ANALYTICS_URL", default="")
BANSO_ANALYTICS_EVENTS_TABLE = env.str("BANSO_ANALYTICS_EVENTS_TABLE", default="")
# Threads DuckDB may use (default: all cores) and the memory it may take before spilling to disk.
BANSO_DUCKDB_THREADS = env.int("BANSO_DUCKDB_THREADS", default=0)
BANSO_DUCKDB_MEMORY_LIMIT = env.str("BANSO_DUCKDB_MEMORY_LIMIT", default="3GB")
# `banso analytics scheduler` queues the day's recompute once it is past this time (Japan), HH:MM.
BANSO_ANALYTICS_RECOMPUTE_AT = env.str("BANSO_ANALYTICS_RECOMPUTE_AT", default="03:00")
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

EMAIL_BACKEND = env.str("BANSO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("BANSO_EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("BANSO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("BANSO_DEFAULT_FROM_EMAIL", default="banso@localhost")
# Links in mails to customers (survey answers) start with this address; the company name signs them.
BANSO_PUBLIC_URL = env.str("BANSO_PUBLIC_URL", default="http://127.0.0.1:8000")
BANSO_COMPANY_NAME = env.str("BANSO_COMPANY_NAME", default="当社")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("BANSO_LOG_LEVEL", default="WARNING")},
}
