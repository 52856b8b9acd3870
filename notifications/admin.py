"""The notification log and the reminder queue in the back office.

Both are records of what the system did, so they are read-only: staff look up
who a message was for, about which session (in the instructor's local time),
what it said (its subject), whether it went out, and why not (status,
attempts, each attempt's error), and send it again with "Resend", which goes
through ``notifications.services.notification_resend`` (reminders:
``notifications.reminders.reminder_send_again``). Brand staff see only their
brands' rows (``booking_project.admin_scoping``).

The booking's change page shows its reminders and notifications too (as
inlines). ``bookings`` never imports ``notifications``, so the inlines
are added to ``bookings.admin.BookingAdmin`` from here, and so is the
dashboard's "failed messages" panel.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin
from booking_project.admin_site import (
    DashboardPanel,
    DashboardRow,
    ReadOnlyAdminMixin,
    dashboard_panel,
    first_and_count,
)
from booking_project.admin_times import local_time
from booking_project.refusals import Refusal
from bookings.admin import BookingAdmin

from .messages import subject_line
from .models import BookingReminder, Notification, NotificationAttempt
from .reminders import reminder_send_again
from .services import notification_resend

# What the lists read besides the row: the booking (attendee, time, zone) and what its subject is rendered from.
MESSAGE_RELATED = ("booking__brand", "booking__instructor", "booking__event_type", "event")


def _booking_link(booking) -> str:
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    return format_html('<a href="{}">{}</a>', url, booking)


class BookingRowAdmin(ReadOnlyAdminMixin, BrandScopedAdmin, admin.ModelAdmin):
    """A row about one booking: its attendee and session time, in the instructor's timezone."""

    brand_path = "booking__brand"

    @admin.display(description="attendee", ordering="booking__attendee_name")
    def attendee(self, row):
        url = reverse("admin:bookings_booking_change", args=[row.booking_id])
        return format_html('<a href="{}">{}</a>', url, row.booking.attendee_name)

    @admin.display(description="session (local)", ordering="booking__start_at")
    def session_time(self, row):
        return local_time(row.booking.start_at, row.booking.instructor_timezone)

    @admin.display(description="attendee, session (local)", ordering="booking__start_at")
    def attendee_and_session(self, row):
        url = reverse("admin:bookings_booking_change", args=[row.booking_id])
        return format_html(
            '<a href="{}">{}</a><span class="bo-session">{}</span>',
            url,
            row.booking.attendee_name,
            local_time(row.booking.start_at, row.booking.instructor_timezone, year=False),
        )

    @admin.display(description="booking")
    def booking_link(self, row):
        return _booking_link(row.booking)

    @admin.display(description="brand", ordering="booking__brand__name")
    def brand(self, row):
        return row.booking.brand

    def local(self, row, name: str, *, year: bool = True):
        return local_time(getattr(row, name), row.booking.instructor_timezone, year=year)


class NotificationAttemptInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    model = NotificationAttempt
    brand_path = "notification__booking__brand"
    fields = ("number", "tried", "succeeded", "provider_message_id", "duration_ms", "error", "note")
    readonly_fields = fields
    extra = 0

    @admin.display(description="tried at")
    def tried(self, attempt: NotificationAttempt):
        return local_time(attempt.created_at, attempt.notification.booking.instructor_timezone)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("notification__booking")


@admin.register(Notification)
class NotificationAdmin(BookingRowAdmin):
    # Narrow enough for a 1400 px screen with the navigation open; the status comes early, so it always shows.
    list_display = ("created", "status_column", "attendee_and_session", "subject", "to")
    list_filter = ("status", "kind", "channel", "audience", BrandListFilter, "created_at")
    list_select_related = MESSAGE_RELATED
    search_fields = (
        "recipient",
        "booking__uid",
        "booking__attendee_email",
        "booking__attendee_name",
        "provider_message_id",
    )
    fieldsets = [
        (None, {"fields": ("booking_link", "session_time", "subject", "kind", "audience", "channel", "recipient")}),
        (
            "Delivery",
            {
                "fields": (
                    "status",
                    "attempts",
                    "next_attempt",
                    "lease_expires_at",
                    "sent",
                    "provider_message_id",
                    "batch_key",
                    "event",
                    "reminder",
                )
            },
        ),
        ("Error", {"fields": ("last_error",)}),
        ("Record", {"fields": ("created", "updated", "minutes_before", "booking_snapshot")}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [NotificationAttemptInline]
    actions = ["resend"]

    @admin.display(description="created (local)", ordering="created_at")
    def created(self, notification: Notification):
        return self.local(notification, "created_at", year=False)

    @admin.display(description="updated")
    def updated(self, notification: Notification):
        return self.local(notification, "updated_at")

    @admin.display(description="sent")
    def sent(self, notification: Notification):
        return self.local(notification, "sent_at")

    @admin.display(description="next attempt")
    def next_attempt(self, notification: Notification):
        if notification.status not in (Notification.Status.PENDING, Notification.Status.SENDING):
            return "-"
        return self.local(notification, "next_attempt_at")

    @admin.display(description="subject")
    def subject(self, notification: Notification) -> str:
        return Truncator(subject_line(notification)).chars(80)

    @admin.display(description="to", ordering="recipient")
    def to(self, notification: Notification):
        return format_html(
            '{}<span class="bo-zone">{}, {}</span>',
            notification.recipient,
            notification.get_channel_display(),
            notification.audience,
        )

    @admin.display(description="status", ordering="status")
    def status_column(self, notification: Notification):
        attempts = f"{notification.attempts} attempt{'s' if notification.attempts != 1 else ''}"
        return format_html(
            '<span class="bo-badge bo-message-{}">{}</span><span class="bo-zone">{}</span>'
            '<span class="bo-error">{}</span>',
            notification.status,
            notification.get_status_display(),
            attempts,
            Truncator(notification.last_error).chars(60),
        )

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
class BookingReminderAdmin(BookingRowAdmin):
    list_display = ("due", "status_column", "attendee_and_session", "subject", "channel")
    list_filter = ("status", "channel", BrandListFilter)
    list_select_related = (*(f"booking__{name}" for name in ("brand", "instructor", "event_type")), "notification")
    search_fields = ("booking__uid", "booking__attendee_email", "booking__attendee_name")
    fields = (
        "booking_link",
        "session_time",
        "subject",
        "channel",
        "minutes_before",
        "due",
        "status",
        "sent",
        "attempts",
        "last_error",
        "notification_link",
    )
    readonly_fields = fields
    actions = ["send_again"]

    @admin.display(description="due (local)", ordering="remind_at")
    def due(self, reminder: BookingReminder):
        return self.local(reminder, "remind_at", year=False)

    @admin.display(description="handed over")
    def sent(self, reminder: BookingReminder):
        return self.local(reminder, "sent_at")

    @admin.display(description="subject")
    def subject(self, reminder: BookingReminder) -> str:
        """What the reminder said, or (not sent yet) what it will say."""
        notification = getattr(reminder, "notification", None)
        if notification is None:
            notification = Notification(
                booking=reminder.booking,
                kind=Notification.Kind.REMINDER,
                channel=reminder.channel,
                audience=Notification.Audience.ATTENDEE,
                minutes_before=reminder.minutes_before,
            )
        else:
            notification.booking = reminder.booking
        return Truncator(subject_line(notification)).chars(90)

    @admin.display(description="status", ordering="status")
    def status_column(self, reminder: BookingReminder):
        return format_html(
            '<span class="bo-badge bo-message-{}">{}</span><span class="bo-error">{}</span>',
            reminder.status,
            reminder.get_status_display(),
            Truncator(reminder.last_error).chars(60),
        )

    @admin.display(description="message")
    def notification_link(self, reminder: BookingReminder):
        notification = getattr(reminder, "notification", None)
        if notification is None:
            return "-"
        url = reverse("admin:notifications_notification_change", args=[notification.pk])
        return format_html('<a href="{}">{}</a>', url, notification.get_status_display())

    def has_send_again_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_bookingreminder")

    @admin.action(description="Send the selected reminders again now", permissions=["send_again"])
    def send_again(self, request, queryset):
        queued, refused = 0, []
        for reminder in queryset.select_related("booking"):
            try:
                reminder_send_again(reminder=reminder)
                queued += 1
            except Refusal as refusal:
                refused.append(f"{reminder.booking.attendee_name}: {refusal.message}")
        if queued:
            self.message_user(
                request, f"Queued {queued} reminder{'s' if queued != 1 else ''} to send now.", messages.SUCCESS
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)


# --- on the booking's change page -------------------------------------------------------


class BookingRowsInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    """Read-only rows of one booking on its change page, times in the instructor's timezone."""

    brand_path = "booking__brand"
    extra = 0
    can_delete = False

    def local(self, row, name: str):
        return local_time(getattr(row, name), row.booking.instructor_timezone, year=False)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("booking")


class BookingReminderInline(BookingRowsInline):
    model = BookingReminder
    verbose_name_plural = "reminders"
    fields = ("due", "channel", "minutes_before", "status", "sent", "attempts", "last_error")
    readonly_fields = fields

    @admin.display(description="due")
    def due(self, reminder: BookingReminder):
        return self.local(reminder, "remind_at")

    @admin.display(description="handed over")
    def sent(self, reminder: BookingReminder):
        return self.local(reminder, "sent_at")


class NotificationInline(BookingRowsInline):
    """The booking's messages; each links to its page (attempts, "Resend")."""

    model = Notification
    fk_name = "booking"
    verbose_name_plural = "notifications"
    fields = ("created", "kind", "audience", "channel", "recipient", "status", "attempts", "sent", "last_error")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="created")
    def created(self, notification: Notification):
        return self.local(notification, "created_at")

    @admin.display(description="sent")
    def sent(self, notification: Notification):
        return self.local(notification, "sent_at")


BookingAdmin.inlines = [
    *(inline for inline in BookingAdmin.inlines if inline not in (BookingReminderInline, NotificationInline)),
    BookingReminderInline,
    NotificationInline,
]


# --- the dashboard on the admin index ------------------------------------------------------------

FAILED_ROWS = 5


@dashboard_panel(order=30)
def failed_messages_panel(request) -> DashboardPanel | None:
    """Messages that gave up (status ``failed``): staff see why and resend them from the log."""
    notification_admin = admin.site.get_model_admin(Notification)
    if not notification_admin.has_view_permission(request):
        return None
    failed = notification_admin.get_queryset(request).filter(status=Notification.Status.FAILED)
    first, count = first_and_count(failed.order_by("-updated_at", "-id"), FAILED_ROWS)
    return DashboardPanel(
        title="Failed messages",
        count=count,
        url=reverse("admin:notifications_notification_changelist") + "?status__exact=failed",
        link_text="See why, and resend",
        rows=[
            DashboardRow(
                text=f"{notification.get_kind_display()} to {notification.recipient}",
                url=reverse("admin:notifications_notification_change", args=[notification.pk]),
                note=Truncator(notification.last_error).chars(60),
            )
            for notification in first
        ],
        empty_text="Every message went out.",
        alert=True,
    )
