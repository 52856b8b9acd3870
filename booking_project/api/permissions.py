"""Brand resolution and key scopes for every API view.

A request acts for exactly one brand: the API key's, or, for staff using the
browsable API, a brand they belong to (``?brand=<slug>``, or their only one;
superusers may pick any brand).
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from scheduling.models import ApiKey, Brand


def resolve_brand(request) -> Brand | None:
    """The brand the request acts for, cached on the request."""
    if hasattr(request, "_brand"):
        return request._brand
    brand = None
    if isinstance(request.auth, ApiKey):
        brand = request.auth.brand
    elif request.user and request.user.is_authenticated and request.user.is_staff:
        brands = Brand.objects.all() if request.user.is_superuser else request.user.brands.all()
        slug = request.query_params.get("brand")
        if slug:
            brand = brands.filter(slug=slug).first()
        else:
            candidates = list(brands[:2])
            brand = candidates[0] if len(candidates) == 1 else None
    request._brand = brand
    return brand


def is_secret(request) -> bool:
    """Secret scope: a secret key, or a staff session."""
    if isinstance(request.auth, ApiKey):
        return request.auth.is_secret
    return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class HasBrand(permissions.BasePermission):
    """Authenticated for a brand. Any scope may pass; views narrow with ``SecretScope``."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if resolve_brand(request) is None:
            raise exceptions.PermissionDenied("Choose a brand you manage with ?brand=<slug>.")
        return True


class SecretScope(HasBrand):
    """Secret keys (and staff) only: a public key gets 403."""

    message = "This endpoint needs a secret API key."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and is_secret(request)


class SecretForWrites(HasBrand):
    """Reads for any key of the brand; writes for secret keys only."""

    message = "Writing needs a secret API key."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or is_secret(request)
