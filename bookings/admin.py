"""Back office for bookings and payments.

Admin edits never bypass the lifecycle: everything that is state (status,
payment, times, parties) is read-only here and changes only through
``bookings.services`` (lifecycle actions call those services). Bookings are
created by the booking service, never by the add form. Staff edit notes only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin

from . import services
from .errors import BookingConflict
from .models import Booking, Payment
from .services import booking_update_notes

PAYMENT_FIELDS = ("created_at", "amount", "currency", "provider", "reference", "status")


class PaymentInline(BrandScopedAdmin, admin.TabularInline):
    """Payments are recorded by the payment service; the admin only shows them."""

    model = Payment
    brand_path = "booking__brand"
    fields = PAYMENT_FIELDS
    readonly_fields = PAYMENT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(BrandScopedAdmin, admin.ModelAdmin):
    editable_fields = ("notes", "instructor_notes")
    list_display = (
        "start_at",
        "instructor",
        "attendee_name",
        "attendee_email",
        "event_type",
        "brand",
        "status",
        "payment_status",
    )
    list_filter = (
        BrandListFilter,
        ("instructor", admin.RelatedOnlyFieldListFilter),
        "status",
        "payment_status",
    )
    list_select_related = ("instructor", "event_type", "brand")
    date_hierarchy = "start_at"
    search_fields = ("attendee_name", "attendee_email", "uid")
    fieldsets = [
        (None, {"fields": ("uid", "brand", "instructor", "event_type", "status", "payment_status")}),
        ("Time", {"fields": ("start_at", "end_at", "instructor_timezone", "student_timezone", "sequence")}),
        ("Attendee", {"fields": ("attendee_name", "attendee_email", "attendee_phone")}),
        ("Notes", {"fields": ("notes", "instructor_notes")}),
        ("Cancellation", {"fields": ("cancellation_reason", "cancelled_by", "cancelled_at")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    ]
    inlines = [PaymentInline]
    actions = ["confirm", "confirm_waiving_payment", "cancel", "complete", "mark_no_show"]

    def _apply(self, request, queryset, verb: str, change: Callable[[Booking], object]) -> None:
        """Run one lifecycle service per booking; refusals are reported, never forced."""
        done, refused = 0, []
        for booking in queryset:
            try:
                change(booking)
                done += 1
            except BookingConflict as error:
                refused.append(f"{booking}: {error.message}")
        if done:
            self.message_user(request, f"{done} booking(s) {verb}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Confirm selected bookings", permissions=["change"])
    def confirm(self, request, queryset):
        self._apply(request, queryset, "confirmed", lambda b: services.booking_confirm(booking=b, actor=services.STAFF))

    @admin.action(description="Confirm selected bookings, waiving payment", permissions=["change"])
    def confirm_waiving_payment(self, request, queryset):
        self._apply(
            request,
            queryset,
            "confirmed",
            lambda b: services.booking_confirm(booking=b, waive_payment=True, actor=services.STAFF),
        )

    @admin.action(description="Cancel selected bookings", permissions=["change"])
    def cancel(self, request, queryset):
        self._apply(
            request,
            queryset,
            "cancelled",
            lambda b: services.booking_cancel(booking=b, actor=services.STAFF, reason="Cancelled by staff"),
        )

    @admin.action(description="Mark selected bookings completed", permissions=["change"])
    def complete(self, request, queryset):
        self._apply(request, queryset, "completed", lambda b: services.booking_complete(booking=b))

    @admin.action(description="Mark selected bookings as no-show", permissions=["change"])
    def mark_no_show(self, request, queryset):
        self._apply(request, queryset, "marked as no-show", lambda b: services.booking_mark_no_show(booking=b))

    def get_readonly_fields(self, request, obj=None):
        shown = [name for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]
        return [name for name in shown if name not in self.editable_fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Bookings end by cancellation (an event, notifications, webhooks), never by deletion.
        return False

    def save_model(self, request, obj, form, change):
        booking_update_notes(booking=obj, **{name: form.cleaned_data[name] for name in self.editable_fields})


@admin.register(Payment)
class PaymentAdmin(BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "booking__brand"
    list_display = ("created_at", "booking", "amount", "currency", "provider", "reference", "status")
    list_filter = ("status", "currency", "provider", BrandListFilter)
    list_select_related = ("booking",)
    date_hierarchy = "created_at"
    search_fields = ("reference", "booking__attendee_email", "booking__attendee_name")
    fields = ("booking", *PAYMENT_FIELDS, "raw_payload")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
