"""The shared API plumbing, used by every app's ``api/`` package.

- ``authentication``: brand API keys (``Authorization: Bearer <key>``).
- ``permissions``: which brand a request acts for, and the key scopes.
- ``errors``: the one mapping from exceptions to HTTP answers (field errors,
  refusals, 404s).
- ``fields``: serializer fields every app shares (aware times, timezones,
  phone numbers, currencies, list-or-string input).
- ``query``: query parameters with camelCase aliases, for filters and plain views.
- ``routers``: routes that match with or without the trailing slash.
- ``views``: the brand-scoped viewset base.

Apps own their endpoints (``<app>/api/urls.py``); ``booking_project/urls.py``
mounts them under ``/api/``.
"""
