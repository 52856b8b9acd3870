"""The notification log and the reminder schedule in the back office.

Both are records of what the system did, so they are read-only: staff look up
why a message was not delivered (status, attempts, each attempt's error) and
send it again with the "Resend" action, which queues a new notification
through ``notifications.services.notification_resend``. Brand staff see only
their brands' rows (``booking_project.admin_scoping``).

The booking's change page shows its reminders and notifications too
(``docs/notifications.md``, Admin). ``bookings`` never imports ``notifications``, so the inlines
are added to ``bookings.admin.BookingAdmin`` from here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin
from bookings.admin import BookingAdmin

from .models import BookingReminder, Notification, NotificationAttempt
from .services import notification_resend


class ReadOnlyAdminMixin:
    """Rows written by the services only: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _booking_link(booking) -> str:
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    return format_html('<a href="{}">{}</a>', url, booking.uid)


class NotificationAttemptInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    model = NotificationAttempt
    brand_path = "notification__booking__brand"
    fields = ("number", "created_at", "succeeded", "provider_message_id", "duration_ms", "error", "note")
    readonly_fields = fields
    extra = 0


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "booking__brand"
    list_display = (
        "created_at",
        "kind",
        "channel",
        "audience",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "brand",
        "booking_uid",
        "error_excerpt",
    )
    list_filter = ("status", "kind", "channel", "audience", BrandListFilter, "created_at")
    list_select_related = ("booking__brand",)
    search_fields = ("recipient", "booking__uid", "booking__attendee_email", "provider_message_id")
    date_hierarchy = "created_at"
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "booking_link",
                    "event",
                    "reminder",
                    "minutes_before",
                    "kind",
                    "audience",
                    "channel",
                    "recipient",
                )
            },
        ),
        (
            "Delivery",
            {
                "fields": (
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "lease_expires_at",
                    "sent_at",
                    "provider_message_id",
                    "batch_key",
                )
            },
        ),
        ("Error", {"fields": ("last_error",)}),
        ("Record", {"fields": ("created_at", "updated_at", "booking_snapshot")}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [NotificationAttemptInline]
    actions = ["resend"]

    @admin.display(description="brand", ordering="booking__brand__name")
    def brand(self, notification: Notification):
        return notification.booking.brand

    @admin.display(description="booking", ordering="booking__uid")
    def booking_uid(self, notification: Notification):
        return _booking_link(notification.booking)

    @admin.display(description="booking")
    def booking_link(self, notification: Notification):
        return _booking_link(notification.booking)

    @admin.display(description="error")
    def error_excerpt(self, notification: Notification) -> str:
        return Truncator(notification.last_error).chars(80)

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_notification")

    @admin.action(description="Resend the selected notifications", permissions=["resend"])
    def resend(self, request, queryset):
        """A new pending notification per selected row (the old rows keep their history)."""
        with transaction.atomic():
            copies = [notification_resend(notification=notification) for notification in queryset]
        self.message_user(
            request,
            f"Queued {len(copies)} notification{'s' if len(copies) != 1 else ''} to send again.",
            messages.SUCCESS,
        )


@admin.register(BookingReminder)
class BookingReminderAdmin(ReadOnlyAdminMixin, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "booking__brand"
    list_display = ("remind_at", "channel", "minutes_before", "status", "sent_at", "attempts", "booking_uid", "brand")
    list_filter = ("status", "channel", BrandListFilter)
    list_select_related = ("booking__brand",)
    search_fields = ("booking__uid", "booking__attendee_email")
    date_hierarchy = "remind_at"
    fields = (
        "booking_link",
        "channel",
        "minutes_before",
        "remind_at",
        "status",
        "sent_at",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="brand", ordering="booking__brand__name")
    def brand(self, reminder: BookingReminder):
        return reminder.booking.brand

    @admin.display(description="booking", ordering="booking__uid")
    def booking_uid(self, reminder: BookingReminder):
        return _booking_link(reminder.booking)

    @admin.display(description="booking")
    def booking_link(self, reminder: BookingReminder):
        return _booking_link(reminder.booking)


# --- on the booking's change page -------------------------------------------------------


class BookingRowsInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    """Read-only rows of one booking on its change page."""

    brand_path = "booking__brand"
    extra = 0
    can_delete = False


class BookingReminderInline(BookingRowsInline):
    model = BookingReminder
    verbose_name_plural = "reminders"
    fields = ("remind_at", "channel", "minutes_before", "status", "sent_at", "attempts", "last_error")
    readonly_fields = fields


class NotificationInline(BookingRowsInline):
    """The booking's messages; each links to its page (attempts, "Resend")."""

    model = Notification
    fk_name = "booking"
    verbose_name_plural = "notifications"
    fields = ("created_at", "kind", "audience", "channel", "recipient", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    show_change_link = True


BookingAdmin.inlines = [
    *(inline for inline in BookingAdmin.inlines if inline not in (BookingReminderInline, NotificationInline)),
    BookingReminderInline,
    NotificationInline,
]
