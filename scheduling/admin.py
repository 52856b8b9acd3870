"""Back office for tenancy and scheduling.

Every admin here is brand-scoped (``booking_project.admin_scoping``): staff
who are not superusers see and change only the brands they belong to.
"""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.forms.models import BaseInlineFormSet
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin, brands_of, is_unrestricted

from . import services
from .admin_embed import BrandEmbedSnippet, InstructorEmbedSnippets
from .models import ApiKey, Brand, DateOverride, EventType, Instructor, InstructorBrand, WeeklyAvailability
from .services import ASSIGNMENT_SETTINGS, INSTRUCTOR_IDENTITY_FIELDS
from .validators import ranges_overlap_error

# --- Inlines ------------------------------------------------------------------


class BrandAssignmentInline(BrandScopedAdmin, admin.TabularInline):
    """A brand's instructors, with the scheduling settings they have in this brand."""

    model = InstructorBrand
    fields = ("instructor", *ASSIGNMENT_SETTINGS)
    autocomplete_fields = ("instructor",)
    extra = 0
    show_change_link = True
    verbose_name_plural = "instructor assignments (edit one for its weekly availability and date overrides)"


class InstructorAssignmentInline(BrandScopedAdmin, admin.TabularInline):
    """An instructor's brands, with the scheduling settings of each."""

    model = InstructorBrand
    fields = ("brand", *ASSIGNMENT_SETTINGS)
    extra = 0
    show_change_link = True
    verbose_name_plural = "instructor assignments (edit one for its weekly availability and date overrides)"

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def get_min_num(self, request, obj=None, **kwargs):
        # Brand staff must assign a new instructor to one of their brands,
        # or it would vanish from their view the moment it is saved.
        return 0 if is_unrestricted(request) or obj is not None else 1

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


class WeeklyAvailabilityFormSet(BaseInlineFormSet):
    """Refuses overlapping ranges of one weekday among all the rows being saved together.

    ``WeeklyAvailability.clean()`` compares a row with the rows already stored,
    which is wrong while several rows change together (a range moved and its
    old place filled); the inline form turns that check off and the formset
    checks the final set instead.
    """

    def clean(self):
        super().clean()
        ranges_by_weekday: dict[int, list] = defaultdict(list)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or (self.can_delete and self._should_delete_form(form)):
                continue
            weekday, start, end = data.get("weekday"), data.get("start_time"), data.get("end_time")
            if weekday is None or start is None or end is None:
                continue
            ranges_by_weekday[int(weekday)].append((start, end))
        errors = []
        for weekday, ranges in sorted(ranges_by_weekday.items()):
            message = ranges_overlap_error(ranges)
            if message:
                errors.append(f"{WeeklyAvailability.Weekday(weekday).label}: {message}")
        if errors:
            raise ValidationError(errors)


class WeeklyAvailabilityInlineForm(forms.ModelForm):
    """Leaves the overlap check to the formset, which sees the rows as they will be saved."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.overlap_checked_elsewhere = True


class WeeklyAvailabilityInline(BrandScopedAdmin, admin.TabularInline):
    model = WeeklyAvailability
    form = WeeklyAvailabilityInlineForm
    formset = WeeklyAvailabilityFormSet
    brand_path = "assignment__brand"
    fields = ("weekday", "start_time", "end_time")
    extra = 0


class DateOverrideInlineForm(forms.ModelForm):
    """Stores ranges in the shape ``availability_replace`` stores (``services.override_ranges_clean``).

    Times are normalised to ``HH:MM``, a time with an offset or a malformed
    range is an error on the field, and an empty box means no ranges (the
    column is never NULL).
    """

    def clean_ranges(self):
        try:
            return services.override_ranges_clean(self.cleaned_data.get("ranges"))
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class DateOverrideInline(BrandScopedAdmin, admin.TabularInline):
    model = DateOverride
    form = DateOverrideInlineForm
    brand_path = "assignment__brand"
    fields = ("date", "unavailable", "ranges")
    extra = 0


# --- Brands, instructors, assignments ----------------------------------------------


@admin.register(Brand)
class BrandAdmin(BrandEmbedSnippet, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = ""
    list_display = ("name", "slug", "from_name", "from_email", "created_at")
    search_fields = ("name", "slug")
    filter_horizontal = ("staff",)
    inlines = [BrandAssignmentInline]

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)} if is_unrestricted(request) else {}

    def get_readonly_fields(self, request, obj=None):
        # Brand staff run their brand; only superusers rename its slug or choose its staff.
        return ("embed_snippet",) if is_unrestricted(request) else ("slug", "staff", "embed_snippet")

    def has_add_permission(self, request):
        return is_unrestricted(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return is_unrestricted(request) and super().has_delete_permission(request, obj)


@admin.register(Instructor)
class InstructorAdmin(InstructorEmbedSnippets, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "assignments__brand"
    readonly_fields = ("embed_snippets",)
    list_display = ("name", "email", "phone", "slug", "brand_names")
    list_filter = (BrandListFilter,)
    search_fields = ("name", "email", "phone", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [InstructorAssignmentInline]

    def get_queryset(self, request):
        # Only the brands the user may see are listed, so no other tenant is named.
        return super().get_queryset(request).prefetch_related(Prefetch("brands", queryset=brands_of(request)))

    def identity_is_shared(self, request, obj: Instructor | None) -> bool:
        """True if brand staff may not change ``obj``'s identity: it also works for a brand they do not run.

        The same rule as ``services.instructor_update`` for API keys: the
        name, email, phone, slug and bio are every employing brand's, so one
        brand's staff must not rewrite them for the others. Superusers may.
        """
        if obj is None or obj.pk is None or is_unrestricted(request):
            return False
        cache = request.__dict__.setdefault("_instructor_identity_shared", {})
        if obj.pk not in cache:
            cache[obj.pk] = services.instructor_works_elsewhere(instructor=obj, brands=brands_of(request))
        return cache[obj.pk]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if self.identity_is_shared(request, obj):
            readonly += INSTRUCTOR_IDENTITY_FIELDS
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if self.identity_is_shared(request, obj) else super().get_prepopulated_fields(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.identity_is_shared(request, obj):
            (name, options), *rest = fieldsets
            description = (
                "This instructor also works for other brands: name, email, phone, slug and bio are shared "
                "with them and can only be changed by an administrator. The settings of your brands "
                "below stay yours to change."
            )
            fieldsets = [(name, {**options, "description": description}), *rest]
        return fieldsets

    @admin.display(description="brands")
    def brand_names(self, instructor: Instructor) -> str:
        return ", ".join(brand.name for brand in instructor.brands.all())

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_unrestricted(request):
            # An instructor can be shared with brands the user does not run;
            # bulk deletion would remove it there too. See has_delete_permission.
            actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None or is_unrestricted(request):
            return True
        return not obj.assignments.exclude(brand__staff=request.user).exists()


@admin.register(InstructorBrand)
class InstructorBrandAdmin(BrandScopedAdmin, admin.ModelAdmin):
    list_display = ("instructor", "brand", *ASSIGNMENT_SETTINGS)
    list_filter = (BrandListFilter, "timezone")
    list_select_related = ("instructor", "brand")
    search_fields = ("instructor__name", "instructor__email", "brand__name")
    autocomplete_fields = ("instructor",)
    fieldsets = [
        (None, {"fields": ("instructor", "brand")}),
        ("Scheduling settings", {"fields": ASSIGNMENT_SETTINGS}),
    ]
    inlines = [WeeklyAvailabilityInline, DateOverrideInline]

    def get_readonly_fields(self, request, obj=None):
        # Availability belongs to one instructor in one brand; moving it elsewhere is a new assignment.
        return ("instructor", "brand") if obj is not None else ()


# --- Session types -----------------------------------------------------------------


EVENT_TYPE_FIELDSETS = [
    (None, {"fields": ("brand", "name", "slug", "description", "is_active")}),
    ("Session", {"fields": ("duration_minutes", "price_amount", "currency", "requires_confirmation")}),
    (
        "Notifications",
        {
            "fields": (
                "send_email_confirmation",
                "send_sms_confirmation",
                "booking_notification_emails",
                "reminder_minutes_before",
                "reminder_channels",
            ),
            "description": 'JSON arrays, e.g. ["host@example.com"], [1440, 60], ["email", "sms"].',
        },
    ),
]


class EventTypeAdminForm(forms.ModelForm):
    """The session type form: the services' checks, reported next to their fields.

    ``brand`` is read-only on the change page, so Django's own unique check of
    (brand, slug) is skipped there; ``clean`` asks the check the services use
    (``services.event_type_slug_error``) instead of letting the database
    refuse the row. Cleared list boxes mean empty lists, never NULL.
    """

    class Meta:
        model = EventType
        fields = flatten_fieldsets(EVENT_TYPE_FIELDSETS)

    def _empty_list_if_blank(self, name: str):
        value = self.cleaned_data.get(name)
        return [] if value is None or value == "" else value

    def clean_booking_notification_emails(self):
        return self._empty_list_if_blank("booking_notification_emails")

    def clean_reminder_minutes_before(self):
        return self._empty_list_if_blank("reminder_minutes_before")

    def clean(self):
        cleaned_data = super().clean()
        if "brand" in self.fields:
            brand = cleaned_data.get("brand")
            brand_id = brand.pk if brand is not None else None
        else:
            brand_id = self.instance.brand_id
        slug = cleaned_data.get("slug")
        message = services.event_type_slug_error(brand_id=brand_id, slug=slug, event_type_id=self.instance.pk)
        if message:
            self.add_error("slug", message)
        return cleaned_data


def _adopt_saved(target, saved) -> None:
    """Make the admin's unsaved ``target`` the row a service just created as ``saved``."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


@admin.register(EventType)
class EventTypeAdmin(BrandScopedAdmin, admin.ModelAdmin):
    form = EventTypeAdminForm
    list_display = (
        "name",
        "brand",
        "duration_minutes",
        "price_amount",
        "currency",
        "requires_confirmation",
        "is_active",
    )
    list_filter = (BrandListFilter, "is_active", "requires_confirmation")
    list_select_related = ("brand",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = EVENT_TYPE_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        # Its bookings belong to its brand; a session type never moves to another brand.
        return ("brand",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        """Write through ``event_type_create`` / ``event_type_update``, like the API."""
        fields = {name: value for name, value in form.cleaned_data.items() if name != "brand"}
        if change:
            services.event_type_update(event_type=obj, **fields)
        else:
            _adopt_saved(obj, services.event_type_create(brand=form.cleaned_data["brand"], **fields))


# --- API keys ----------------------------------------------------------------------

# Staff manage brand keys only; the library's own concrete key model is unused.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(BrandScopedAdmin, APIKeyModelAdmin):
    """The clear key is shown once, in a message, when the key is created (``APIKeyModelAdmin``)."""

    list_display = ("prefix", "name", "brand", "scope", "revoked", "created", "expiry_date", "_has_expired")
    list_filter = (BrandListFilter, "scope", "revoked", "created")
    list_select_related = ("brand",)
    search_fields = ("name", "prefix")
    fields = ("brand", "scope", "name", "expiry_date", "revoked", "prefix")
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A key keeps the brand and scope it was handed out with; issue a new key instead.
            readonly += ("brand", "scope")
        return readonly

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked=False):
            services.api_key_revoke(api_key=api_key)
            self.log_change(request, api_key, "Revoked.")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
