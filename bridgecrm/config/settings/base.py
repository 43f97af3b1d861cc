from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bridgecrm.config.env import BASE_DIR, ENV

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = ENV.allowed_hosts
SITE_URL = ENV.site_url
VAR_DIR = ENV.var_dir
TESTING = ENV.testing
BRIDGE_PDF_FONT = ENV.pdf_font  # see contracts/pdf.py

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "ninja",
    "bridgecrm.core",
    "bridgecrm.users",
    "bridgecrm.customization",
    "bridgecrm.customers",
    "bridgecrm.pipeline",
    "bridgecrm.contracts",
    "bridgecrm.activities",
    "bridgecrm.tiers",
    "bridgecrm.pool",
    "bridgecrm.collab",
    "bridgecrm.imports",
    "bridgecrm.targets",
    "bridgecrm.training",
    "bridgecrm.scorecards",
    "bridgecrm.incentives",
    "bridgecrm.api",
    "bridgecrm.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bridgecrm.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bridgecrm.users.middleware.SessionPolicyMiddleware",
    "bridgecrm.users.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if TESTING:
    # A test-only app with an owned record: exercises visible_to(actor) for owned data.
    INSTALLED_APPS.append("bridgecrm.core.tests.ownedapp")

ROOT_URLCONF = "bridgecrm.config.urls"
WSGI_APPLICATION = "bridgecrm.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bridgecrm.web.context_processors.shell",
            ],
        },
    }
]

AUTH_USER_MODEL = "users.User"
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "users:login"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# E-mail through Django 6.1's MAILERS. EMAIL_URL=smtp://user:password@host:587?tls=1 (or smtps://…);
# without it, mail goes to the console (development).
DEFAULT_FROM_EMAIL = ENV.default_from_email
# Notifications go out by e-mail too only when a real mail server is configured.
BRIDGE_EMAIL_NOTIFICATIONS = bool(ENV.email_url)
if ENV.email_url and not ENV.email_url.startswith("console"):
    _mail = urlsplit(ENV.email_url)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _mail.hostname or "localhost",
                "port": _mail.port or 25,
                "username": unquote(_mail.username or ""),
                "password": unquote(_mail.password or ""),
                "use_tls": "tls=1" in (_mail.query or ""),
                "use_ssl": _mail.scheme == "smtps",
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": ENV.log_level},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Bridge's own knobs.
BRIDGE_LOGIN_FAILURES_PER_ACCOUNT = 10
BRIDGE_LOGIN_FAILURES_PER_IP = 50
BRIDGE_LOGIN_WINDOW_SECONDS = 15 * 60
BRIDGE_SESSION_IDLE_SECONDS = 30 * 60
BRIDGE_SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
BRIDGE_API_MAX_PAGE_SIZE = 100
BRIDGE_BASE_DIR = BASE_DIR

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = BRIDGE_API_MAX_PAGE_SIZE
