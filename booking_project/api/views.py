"""The base of every brand-owned resource's viewset."""

from __future__ import annotations

from django.http import Http404
from rest_framework import viewsets

from .permissions import SecretForWrites, is_secret, resolve_brand

# Changes are PATCH; PUT is not offered (405).
HTTP_METHODS = ["get", "post", "patch", "delete", "head", "options"]


class BrandScopedViewSet(viewsets.ModelViewSet):
    """Reads for any key of the brand, writes for secret keys; another brand's object is a 404.

    Subclasses return the brand's rows from ``get_queryset``; an object outside
    it (unknown, or another brand's) answers exactly like an unknown one.
    """

    permission_classes = [SecretForWrites]
    http_method_names = HTTP_METHODS

    @property
    def brand(self):
        return resolve_brand(self.request)

    @property
    def is_secret(self) -> bool:
        return is_secret(self.request)

    @property
    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not self.is_schema_generation:
            context["brand"] = self.brand
        return context

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            noun = self.queryset.model._meta.verbose_name
            raise Http404(
                f"No {noun} {self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)} in this brand."
            ) from None

    def fields_for_update(self, serializer) -> dict:
        """The validated changes; a blank ``slug`` on update keeps the current one."""
        fields = dict(serializer.validated_data)
        if "slug" in fields and not fields["slug"]:
            fields.pop("slug")
        return fields
