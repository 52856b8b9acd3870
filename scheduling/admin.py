"""Back office for tenancy and scheduling.

Every admin here is brand-scoped (``booking_project.admin_scoping``): staff
who are not superusers see and change only the brands they belong to.

Every save goes through ``scheduling.services``, as the API's do: brands
(``brand_create``/``brand_update``), instructors (``instructor_create``,
``instructor_identity_update``), assignments and their schedules
(``instructor_assign``, ``availability_replace``, ``instructor_unassign``),
session types (``event_type_create``/``event_type_update``) and API keys
(``api_key_create``/``api_key_update``/``api_key_revoke``). So the models'
rules, the phone number's E.164 form and the availability lock apply to
admin input too, and the forms hold no rule of their own: they read the
friendly inputs (``scheduling.admin_forms``) and show the services' errors
next to the fields.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import construct_change_message
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin, brands_of, is_unrestricted
from booking_project.admin_times import local_time
from booking_project.refusals import Refusal

from . import services
from .admin_embed import BrandEmbedSnippet, InstructorEmbedSnippets
from .admin_forms import (
    EVENT_TYPE_FIELDSETS,
    WEEKDAY_FIELDS,
    DateOverrideForm,
    DateOverrideFormSet,
    EventTypeAdminForm,
    WeeklyHoursForm,
)
from .models import ApiKey, Brand, DateOverride, EventType, Instructor, InstructorBrand
from .services import ASSIGNMENT_SETTINGS, INSTRUCTOR_IDENTITY_FIELDS


def _adopt_saved(target, saved) -> None:
    """Make the admin's unsaved ``target`` the row a service just created as ``saved``."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def _fresh(obj):
    """``obj`` as stored: the admin has already copied the form's values onto ``obj`` itself."""
    return type(obj)._default_manager.get(pk=obj.pk)


def _model_fields(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.fields and name in form.cleaned_data}


class ServiceSavingAdmin:
    """An admin whose saves call services: a refusal raised while saving is a message, never a 500.

    The forms run the services' checks before saving, so this happens only
    when the data changed between the check and the save (another request);
    the transaction the admin opened rolls back, nothing is written.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, Refusal) as error:
            text = error.message if isinstance(error, Refusal) else " ".join(error.messages)
            self.message_user(request, f"Nothing was saved: {text}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- assignments (instructor x brand) and their schedules -------------------------------------------------


def save_assignment_formset(formset, *, instructor: Instructor | None = None, brand: Brand | None = None) -> None:
    """Save an inline formset of assignments through the services (instead of ``formset.save()``).

    A new row is ``instructor_assign``; a changed one ``availability_replace``
    with its settings (and its weekly hours, where the form has them; the
    date overrides are kept); a deleted one ``instructor_unassign``. The
    ``new_objects``/``changed_objects``/``deleted_objects`` the admin's change
    message reads are filled as ``formset.save()`` would.
    """
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.initial_forms + formset.extra_forms:
        if not hasattr(form, "cleaned_data"):
            continue
        assignment = form.instance
        the_instructor = instructor or form.cleaned_data.get("instructor") or assignment.instructor
        the_brand = brand or form.cleaned_data.get("brand") or assignment.brand
        if formset.can_delete and formset._should_delete_form(form):
            if assignment.pk:
                services.instructor_unassign(instructor=the_instructor, brand=the_brand)
                formset.deleted_objects.append(assignment)
            continue
        if not form.has_changed():
            continue
        settings = _model_fields(form, ASSIGNMENT_SETTINGS)
        weekly = form.weekly_items() if isinstance(form, WeeklyHoursForm) else None
        if assignment.pk is None:
            saved = services.instructor_assign(instructor=the_instructor, brand=the_brand, **settings)
            _adopt_saved(assignment, saved)
            if weekly:
                services.availability_replace(assignment=saved, settings={}, weekly=weekly, overrides=None)
            formset.new_objects.append(assignment)
        else:
            services.availability_replace(assignment=assignment, settings=settings, weekly=weekly, overrides=None)
            formset.changed_objects.append((assignment, form.changed_data))


class AssignmentWeeklyForm(WeeklyHoursForm):
    """An instructor's assignment: its brand (fixed once saved), settings and weekly hours."""

    class Meta:
        model = InstructorBrand
        fields = ("brand", *ASSIGNMENT_SETTINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "brand" in self.fields:
            self.fields["brand"].disabled = True  # another brand is another assignment: add a row


class BrandAssignmentForm(forms.ModelForm):
    """A brand's assignment: its instructor (fixed once saved) and settings."""

    class Meta:
        model = InstructorBrand
        fields = ("instructor", *ASSIGNMENT_SETTINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "instructor" in self.fields:
            self.fields["instructor"].disabled = True


class BrandAssignmentInline(BrandScopedAdmin, admin.TabularInline):
    """A brand's instructors, with the scheduling settings they have in this brand."""

    model = InstructorBrand
    form = BrandAssignmentForm
    fields = ("instructor", *ASSIGNMENT_SETTINGS)
    autocomplete_fields = ("instructor",)
    extra = 0
    show_change_link = True
    verbose_name_plural = "instructor assignments (open one for its weekly hours and date overrides)"


class InstructorAssignmentInline(BrandScopedAdmin, admin.StackedInline):
    """An instructor's brands: the scheduling settings and the weekly hours of each, on the instructor's page."""

    model = InstructorBrand
    form = AssignmentWeeklyForm
    fieldsets = [
        (None, {"fields": ("brand",)}),
        ("Scheduling settings", {"fields": ASSIGNMENT_SETTINGS}),
        (
            "Weekly hours",
            {
                "fields": WEEKDAY_FIELDS,
                "description": "Local times in the timezone above. Date overrides: open the assignment.",
            },
        ),
    ]
    extra = 0
    show_change_link = True
    verbose_name = "brand and hours"
    verbose_name_plural = "brands and weekly hours"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("weekly_ranges")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def get_min_num(self, request, obj=None, **kwargs):
        # Brand staff must assign a new instructor to one of their brands,
        # or it would vanish from their view the moment it is saved.
        return 0 if is_unrestricted(request) or obj is not None else 1

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


class DateOverrideInline(BrandScopedAdmin, admin.TabularInline):
    """Date overrides, saved with the weekly hours by ``availability_replace`` (never row by row)."""

    model = DateOverride
    form = DateOverrideForm
    formset = DateOverrideFormSet
    brand_path = "assignment__brand"
    fields = ("date", "unavailable", "ranges")
    extra = 0


# --- Brands, instructors, assignments ----------------------------------------------


@admin.register(Brand)
class BrandAdmin(BrandEmbedSnippet, ServiceSavingAdmin, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = ""
    list_display = ("name", "slug", "from_name", "from_email", "week_link")
    search_fields = ("name", "slug")
    filter_horizontal = ("staff",)
    inlines = [BrandAssignmentInline]
    fields = (
        "name",
        "slug",
        "from_name",
        "from_email",
        "sms_from",
        "whatsapp_from",
        "embed_origins",
        "embed_snippet",
        "staff",
    )

    @admin.display(description="calendar")
    def week_link(self, brand: Brand):
        url = reverse("admin:bookings_booking_week") + f"?brand={brand.pk}"
        return format_html('<a href="{}">Week</a>', url)

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)} if is_unrestricted(request) else {}

    def get_readonly_fields(self, request, obj=None):
        # Brand staff run their brand; only superusers rename its slug or choose its staff.
        return ("embed_snippet",) if is_unrestricted(request) else ("slug", "staff", "embed_snippet")

    def has_add_permission(self, request):
        return is_unrestricted(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return is_unrestricted(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        fields = _model_fields(form, [name for name in self.fields if name != "staff"])
        staff = form.cleaned_data.get("staff") if "staff" in form.fields else None
        if change:
            _adopt_saved(obj, services.brand_update(brand=_fresh(obj), staff=staff, **fields))
        else:
            _adopt_saved(obj, services.brand_create(staff=staff, **fields))

    def save_related(self, request, form, formsets, change):
        # The staff were set by the service (save_model); only the assignments are left.
        for formset in formsets:
            save_assignment_formset(formset, brand=form.instance)


@admin.register(Instructor)
class InstructorAdmin(InstructorEmbedSnippets, ServiceSavingAdmin, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "assignments__brand"
    readonly_fields = ("embed_snippets", "calendar_feed_link")
    list_display = ("name", "email", "phone", "slug", "brand_names", "week_link")
    list_filter = (BrandListFilter,)
    search_fields = ("name", "email", "phone", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = (*INSTRUCTOR_IDENTITY_FIELDS, "embed_snippets", "calendar_feed_link")
    inlines = [InstructorAssignmentInline]

    def get_queryset(self, request):
        # Only the brands the user may see are listed, so no other tenant is named.
        return super().get_queryset(request).prefetch_related(Prefetch("brands", queryset=brands_of(request)))

    def identity_is_shared(self, request, obj: Instructor | None) -> bool:
        """True if brand staff may not change ``obj``'s identity: it also works for a brand they do not run.

        The rule of ``services.instructor_identity_update``: the name, email,
        phone, slug and bio are every employing brand's, so one brand's staff
        must not rewrite them for the others. Superusers may.
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
                "with them and can only be changed by an administrator. The settings and hours of your brands "
                "below stay yours to change."
            )
            fieldsets = [(name, {**options, "description": description}), *rest]
        return fieldsets

    @admin.display(description="brands")
    def brand_names(self, instructor: Instructor) -> str:
        return ", ".join(brand.name for brand in instructor.brands.all())

    @admin.display(description="calendar")
    def week_link(self, instructor: Instructor):
        url = reverse("admin:bookings_booking_week") + f"?instructor={instructor.pk}"
        return format_html('<a href="{}">Week</a>', url)

    @admin.display(description="calendar feed")
    def calendar_feed_link(self, instructor: Instructor):
        if instructor.pk is None:
            return "Save the instructor first."
        url = reverse("admin:bookings_calendarfeed_issue", args=[instructor.pk])
        return format_html('<a href="{}">Subscription URL for their calendar app</a> (show, or issue a new one)', url)

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

    def save_model(self, request, obj, form, change):
        identity = _model_fields(form, INSTRUCTOR_IDENTITY_FIELDS)
        if change:
            acting_for = None if is_unrestricted(request) else brands_of(request)
            saved = services.instructor_identity_update(instructor=_fresh(obj), brands=acting_for, **identity)
        else:
            saved = services.instructor_create(brand=None, **identity)
        _adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            save_assignment_formset(formset, instructor=form.instance)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "week_url": reverse("admin:bookings_booking_week")}
        return super().change_view(request, object_id, form_url, extra_context)


class AssignmentAdminForm(WeeklyHoursForm):
    class Meta:
        model = InstructorBrand
        fields = ("instructor", "brand", *ASSIGNMENT_SETTINGS)


@admin.register(InstructorBrand)
class InstructorBrandAdmin(ServiceSavingAdmin, BrandScopedAdmin, admin.ModelAdmin):
    """One instructor in one brand: settings, weekly hours and date overrides, replaced together."""

    form = AssignmentAdminForm
    list_display = ("instructor", "brand", *ASSIGNMENT_SETTINGS)
    list_filter = (BrandListFilter, "timezone")
    list_select_related = ("instructor", "brand")
    search_fields = ("instructor__name", "instructor__email", "brand__name")
    autocomplete_fields = ("instructor",)
    fieldsets = [
        (None, {"fields": ("instructor", "brand")}),
        ("Scheduling settings", {"fields": ASSIGNMENT_SETTINGS}),
        ("Weekly hours", {"fields": WEEKDAY_FIELDS, "description": "Local times in the timezone above."}),
    ]
    inlines = [DateOverrideInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("weekly_ranges")

    def get_readonly_fields(self, request, obj=None):
        # Availability belongs to one instructor in one brand; moving it elsewhere is a new assignment.
        return ("instructor", "brand") if obj is not None else ()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "week_url": reverse("admin:bookings_booking_week")}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            settings = _model_fields(form, ASSIGNMENT_SETTINGS)
            saved = services.instructor_assign(
                instructor=form.cleaned_data["instructor"], brand=form.cleaned_data["brand"], **settings
            )
            _adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        """Settings, weekly hours and overrides in one ``availability_replace``: one lock, all or nothing."""
        overrides = formsets[0] if formsets else None  # no inline without the permission to view overrides
        services.availability_replace(
            assignment=form.instance,
            settings=_model_fields(form, ASSIGNMENT_SETTINGS),
            weekly=form.weekly_items(),
            overrides=overrides.overrides() if overrides is not None and overrides.has_changed() else None,
        )
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def construct_change_message(self, request, form, formsets, add=False):
        message = construct_change_message(form, [], add)
        if formsets and formsets[0].has_changed():
            message.append({"changed": {"name": "date overrides", "object": str(form.instance)}})
        return message


# --- Session types -----------------------------------------------------------------


@admin.register(EventType)
class EventTypeAdmin(ServiceSavingAdmin, BrandScopedAdmin, admin.ModelAdmin):
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
        fields = form.service_fields()
        if change:
            _adopt_saved(obj, services.event_type_update(event_type=_fresh(obj), **fields))
        else:
            _adopt_saved(obj, services.event_type_create(brand=form.cleaned_data["brand"], **fields))


# --- API keys ----------------------------------------------------------------------

# Staff manage brand keys only; the library's own concrete key model is unused.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceSavingAdmin, BrandScopedAdmin, APIKeyModelAdmin):
    """Keys are made by ``api_key_create``: the clear key is shown once, in a message, and never stored.

    Revoking is the list's action (``api_key_revoke``) and final: a revoked
    key stays revoked, so the box is read-only here. The last use (written at
    most once a minute by the API's authentication) tells whether a key is
    still in use before it is revoked.
    """

    list_display = (
        "prefix",
        "name",
        "brand",
        "scope",
        "revoked",
        "last_used",
        "created",
        "expiry_date",
        "_has_expired",
    )
    list_filter = (BrandListFilter, "scope", "revoked", "created")
    list_select_related = ("brand",)
    search_fields = ("name", "prefix")
    fields = ("brand", "scope", "name", "expiry_date", "revoked", "prefix", "last_used")
    actions = ["revoke_selected"]

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, api_key: ApiKey):
        return local_time(api_key.last_used_at, "UTC") if api_key.last_used_at else "never"

    def get_readonly_fields(self, request, obj=None):
        readonly = ("prefix", "revoked", "last_used")
        if obj is not None:
            # A key keeps the brand and scope it was handed out with; issue a new key instead.
            readonly += ("brand", "scope")
        return readonly

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            _adopt_saved(
                obj, services.api_key_update(api_key=_fresh(obj), name=data["name"], expiry_date=data["expiry_date"])
            )
            return
        api_key, key = services.api_key_create(
            brand=data["brand"], scope=data["scope"], name=data["name"], expiry_date=data["expiry_date"]
        )
        _adopt_saved(obj, api_key)
        self.message_user(
            request,
            f"The API key for {api_key.name} is: {key}. "
            "Please store it somewhere safe: you will not be able to see it again.",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked=False):
            services.api_key_revoke(api_key=api_key)
            self.log_change(request, api_key, "Revoked.")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
