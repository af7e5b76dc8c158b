"""Enishi settings, read from the environment.

Every value has a safe default so a fresh clone runs at once on SQLite; a bad value stops the
start with a message instead of being ignored (see `enishi.core.env`).
"""

import datetime
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from enishi.core.env import env_bool, env_int, env_list, env_str, load_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("ENISHI_DATA_DIR", str(BASE_DIR.parent / "data"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "") or load_or_create_secret_key(DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "enishi.core",
    "enishi.accounts",
    "enishi.customers",
    "enishi.activities",
    "enishi.deals",
    "enishi.inquiries",
    "enishi.sales",
    "enishi.history",
    "enishi.quality",
    "enishi.transfer",
    "enishi.imports",
    "enishi.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Errors under /api/ in the API's JSON shape, never an HTML page (404, 405, log-in redirect).
    "enishi.api.middleware.ApiJsonErrorsMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (login, health check).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Which second factor (if any) this session has passed; then: a session that owes a code
    # sees only the code form (and admins set one up first when ENISHI_REQUIRE_2FA_FOR_ADMINS).
    "django_otp.middleware.OTPMiddleware",
    "enishi.accounts.middleware.TwoFactorMiddleware",
    "enishi.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "enishi.core.middleware.SecurityHeadersMiddleware",
    # Last, so that it turns a refused log-in into our lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "enishi.urls"
WSGI_APPLICATION = "enishi.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
            # {{ value|day }} and {{ value|moment }}: dates in the house style, in every template.
            "builtins": ["enishi.core.templatetags.house_style"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite in the data folder unless DATABASE_URL names another database (PostgreSQL for scale).
_default_sqlite = f"sqlite:///{DATA_DIR / 'enishi.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_sqlite))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE transactions plus a busy timeout: writers queue instead of failing with
        # "database is locked"; WAL (set on connect) lets readers run beside one writer.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("ENISHI_TEST_SQLITE", "") or None}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Accounts and log-in ----------------------------------------------------------------------
# argon2 for new passwords; the others still verify older hashes (upgraded at the next log-in).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
ENISHI_PASSWORD_MIN_LENGTH = env_int("ENISHI_PASSWORD_MIN_LENGTH", 10)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": ENISHI_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The throttling backend comes first: it refuses a locked-out client before the password is
# even checked (django-axes).
AUTHENTICATION_BACKENDS = [
    "enishi.accounts.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Invitation and set-password links (shown to the admin, who passes them on) expire after this.
PASSWORD_RESET_TIMEOUT = env_int("ENISHI_INVITATION_DAYS", 7) * 24 * 60 * 60

# Log-in throttling (django-axes): after this many failures for one user name from one address,
# that pair is refused (even with the right password) until the cool-off has passed.
AXES_FAILURE_LIMIT = env_int("ENISHI_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("ENISHI_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout do not extend it: "try again in N minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "enishi.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "enishi.accounts.throttle.client_ip"
AXES_VERBOSE = False

# Two-factor log-in (TOTP, django-otp): optional for everyone; required for admins when on.
ENISHI_REQUIRE_2FA_FOR_ADMINS = env_bool("ENISHI_REQUIRE_2FA_FOR_ADMINS", False)
OTP_TOTP_ISSUER = env_str("ENISHI_TOTP_ISSUER", "Enishi")

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files once `collectstatic` has run (make run and `enishi serve` do);
        # plain files straight from the apps before that (development, tests).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and (STATIC_ROOT / "staticfiles.json").exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the app folders when collectstatic has not run (development, tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ------------------------------------------------------------------------------
# Behind HTTPS (ENISHI_HTTPS=1) cookies become secure and HSTS is sent; plain HTTP on
# 127.0.0.1 stays usable for a local install.
HTTPS = env_bool("ENISHI_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Product settings --------------------------------------------------------------------------
ENISHI_PAGE_SIZE = env_int("ENISHI_PAGE_SIZE", 50)
ENISHI_TIMELINE_PAGE_SIZE = env_int("ENISHI_TIMELINE_PAGE_SIZE", 30)
# Counting matches beyond this is not worth the time: the UI shows "1,000+".
ENISHI_COUNT_CAP = env_int("ENISHI_COUNT_CAP", 1000)
# API calls per token and period: "600/min" (periods: s, min, h, day).
ENISHI_API_RATE = env_str("ENISHI_API_RATE", "600/min")
if not re.fullmatch(r"[1-9]\d*/(s|sec|m|min|h|hour|d|day)", ENISHI_API_RATE):
    raise ImproperlyConfigured("ENISHI_API_RATE must look like 600/min (periods: s, min, h, day)")

# --- Deals, inquiries, orders and contracts ----------------------------------------------------
# A renewal this many days ahead becomes a task for the contract's owner (and shows as due).
ENISHI_RENEWAL_NOTICE_DAYS = env_int("ENISHI_RENEWAL_NOTICE_DAYS", 60)
# An inquiry not answered within this many hours of receipt is overdue in the queues.
ENISHI_INQUIRY_RESPONSE_HOURS = env_int("ENISHI_INQUIRY_RESPONSE_HOURS", 24)
# Consumption tax per order and rate is rounded once: "floor" (切り捨て, usual), "round", "ceil".
ENISHI_TAX_ROUNDING = env_str("ENISHI_TAX_ROUNDING", "floor")
if ENISHI_TAX_ROUNDING not in ("floor", "round", "ceil"):
    raise ImproperlyConfigured("ENISHI_TAX_ROUNDING must be 'floor', 'round' or 'ceil'")

# --- Exports -----------------------------------------------------------------------------------
# Exports of more kartes than this run in the background; their files are kept this many days.
ENISHI_EXPORT_BACKGROUND_ROWS = env_int("ENISHI_EXPORT_BACKGROUND_ROWS", 5000)
ENISHI_EXPORT_KEEP_DAYS = env_int("ENISHI_EXPORT_KEEP_DAYS", 7)
# Printing the list's kartes (A4 PDF): up to the first number at once, in the request; up to
# the second in the background (an export kept like the others); more are refused.
ENISHI_PRINT_BACKGROUND_KARTES = env_int("ENISHI_PRINT_BACKGROUND_KARTES", 10)
ENISHI_PRINT_MAX_KARTES = env_int("ENISHI_PRINT_MAX_KARTES", 500)

# --- Background work ---------------------------------------------------------------------------
# "database" (default): tasks are queued in the database and run by the worker thread of
# `enishi serve` or by `enishi worker`; "immediate": run inside the request (tests, scripts).
ENISHI_TASKS = env_str("ENISHI_TASKS", "database")
if ENISHI_TASKS not in ("database", "immediate"):
    raise ImproperlyConfigured("ENISHI_TASKS must be 'database' or 'immediate'")
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if ENISHI_TASKS == "database"
        else "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    },
    # Always the database queue, whatever ENISHI_TASKS says: for the worker's own test.
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes: failures and lockouts are warnings; its routine bookkeeping is not worth a line.
    "loggers": {"django.server": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Roles and visibility ---------------------------------------------------------------------
# Members see their own kartes ("own") or also their team's ("team").
ENISHI_MEMBER_SCOPE = env_str("ENISHI_MEMBER_SCOPE", "team")
if ENISHI_MEMBER_SCOPE not in ("own", "team"):
    raise ImproperlyConfigured("ENISHI_MEMBER_SCOPE must be 'own' or 'team'")
ENISHI_SENSITIVE_ROLES = tuple(env_list("ENISHI_SENSITIVE_ROLES", ["admin", "manager"]))
