from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bridgecrm.config.env import BASE_DIR

LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "bridgecrm" / "locale"]
LANGUAGE_COOKIE_NAME = "bridge_language"
LANGUAGE_COOKIE_SECURE = False
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
BRIDGE_DEFAULT_TIME_ZONE = "Asia/Shanghai"
