"""Brand-scoped staff in the Django admin.

The product rule: a staff user who belongs to some brands sees and changes
only their data. ``Brand.staff`` says who belongs where; every admin (and inline) of a
brand-owned model mixes in :class:`BrandScopedAdmin` and names, in
``brand_path``, the lookup from its model to the owning brand. For users who
are not superusers that one path limits:

- the rows of the changelist, and so the change, delete, history pages and
  the bulk actions (all of them go through ``get_queryset``);
- the choices of foreign keys: to brands, and to any model whose registered
  admin is itself brand-scoped (an assignment's instructor, for example);
- the brand list filter (:class:`BrandListFilter`), which never names another
  tenant's brand.

Superusers see everything. Model-level permissions still come from the
"Brand staff" group (``scheduling.services.brand_staff_group``); this module
only adds the row-level part, which Django's permission system does not have.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import Model, QuerySet
from django.http import HttpRequest


def is_unrestricted(request: HttpRequest) -> bool:
    """Superusers manage every brand; everybody else only the brands they staff."""
    return request.user.is_active and request.user.is_superuser


def _is_multivalued(model: type[Model], path: str) -> bool:
    """True if following ``path`` from ``model`` crosses a to-many relation (so a join can repeat rows)."""
    opts = model._meta
    for name in path.split("__"):
        field = opts.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        opts = field.related_model._meta
    return False


def filter_by_brand(queryset: QuerySet, brand_path: str, **brand_lookup) -> QuerySet:
    """Rows of ``queryset`` whose brand, reached by ``brand_path``, matches ``brand_lookup``.

    ``brand_path`` is empty when the rows are brands. Paths through a to-many
    relation (an instructor's ``assignments__brand``) filter through a
    subquery on the primary key, so no row is repeated and the queryset stays
    deletable and countable without ``distinct()``.
    """
    lookup = {f"{brand_path}__{key}" if brand_path else key: value for key, value in brand_lookup.items()}
    if brand_path and _is_multivalued(queryset.model, brand_path):
        matching = queryset.model._default_manager.filter(**lookup).values("pk")
        return queryset.filter(pk__in=matching)
    return queryset.filter(**lookup)


def brands_of(request: HttpRequest) -> QuerySet:
    """The brands the request's user may see: all for superusers, else those they staff."""
    from scheduling.models import Brand

    brands = Brand.objects.all()
    if is_unrestricted(request):
        return brands
    return brands.filter(staff=request.user)


class BrandListFilter(admin.SimpleListFilter):
    """Filter by brand along the admin's ``brand_path``, offering only the brands the user may see."""

    title = "brand"
    parameter_name = "brand"

    def __init__(self, request, params, model, model_admin):
        self.brand_path = model_admin.brand_path
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in brands_of(request).values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return filter_by_brand(queryset, self.brand_path, pk=int(value))


class BrandScopedAdmin:
    """Mixin for ``ModelAdmin`` and ``InlineModelAdmin``: non-superusers see only their brands' rows.

    ``brand_path`` is the lookup from the model to its brand: ``"brand"``,
    ``"assignment__brand"``, ``"booking__brand"``, ``"assignments__brand"``
    (an instructor belongs to the brands it is assigned to), or ``""`` for
    :class:`~scheduling.models.Brand` itself. Put :class:`BrandListFilter` in
    ``list_filter`` for a brand filter that follows the same path.
    """

    brand_path: str = "brand"

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """``queryset`` limited to the rows the request's user may see."""
        if is_unrestricted(request):
            return queryset
        return filter_by_brand(queryset, self.brand_path, staff=request.user)

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not is_unrestricted(request):
            related_model = db_field.related_model
            try:
                related_admin = self.admin_site.get_model_admin(related_model)
            except NotRegistered:
                related_admin = None
            if isinstance(related_admin, BrandScopedAdmin):
                kwargs["queryset"] = related_admin.scope_queryset(request, related_model._default_manager.all())
            elif related_model._meta.label == "scheduling.Brand":
                kwargs["queryset"] = brands_of(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
