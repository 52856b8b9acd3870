"""Rates (docs/api.md): public keys' booking creation is limited per key
(``THROTTLE_PUBLIC_WRITE_RATE``, default 60/min); secret keys are not
throttled. Counters live in Django's cache (per process with the default
local-memory cache; point ``CACHES`` at Redis to share them)."""

from rest_framework.throttling import SimpleRateThrottle

from scheduling.models import ApiKey


class PublicKeyWriteThrottle(SimpleRateThrottle):
    scope = "public_write"

    def get_cache_key(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey) or api_key.is_secret:
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.pk}
