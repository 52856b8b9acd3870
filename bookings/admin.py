"""Back office for bookings and payments.

Admin edits never bypass the lifecycle: everything that is state (status,
payment, times, parties) is read-only on the booking's page and changes only
through ``bookings.services``: the buttons on the page and the list's bulk
actions call those services, and "Add booking" is a phone booking through
``booking_create`` (``bookings.admin_views``). Staff edit notes directly, which
is ``booking_update_notes``.

Times are shown in the instructor's timezone with the zone named and UTC on
hover or beside (``booking_project.admin_times``); the list's "when" filter
means today / this week in each booking's own local time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils import timezone as django_timezone
from django.utils.html import format_html

from booking_project.admin_scoping import BrandListFilter, BrandScopedAdmin, brands_of
from booking_project.admin_site import DashboardPanel, DashboardRow, dashboard_panel, first_and_count
from booking_project.admin_times import LocalDateFilter, local_hours, local_time, zone

from . import admin_views, services
from .agenda import day_sessions
from .errors import BookingConflict
from .feeds import calendar_feed_url
from .models import Booking, BookingStatus, CalendarFeed, Payment
from .services import booking_update_notes, calendar_feed_rotate


def admin_url_for_series(series_id) -> str:
    return reverse("admin:bookings_booking_changelist") + f"?series__id__exact={series_id}"


def status_badge(status: str, label: str) -> str:
    return format_html('<span class="bo-badge bo-status-{}">{}</span>', status, label)


def payment_badge(status: str, label: str) -> str:
    return format_html('<span class="bo-badge bo-payment-{}">{}</span>', status, label)


class PaymentInline(BrandScopedAdmin, admin.TabularInline):
    """Payments are recorded by the payment services; the admin only shows them."""

    model = Payment
    brand_path = "booking__brand"
    fields = ("recorded", "amount", "currency", "provider", "reference", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="recorded")
    def recorded(self, payment: Payment):
        return local_time(payment.created_at, payment.booking.instructor_timezone)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("booking")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(BrandScopedAdmin, admin.ModelAdmin):
    editable_fields = ("notes", "instructor_notes")
    local_date_field = "start_at"
    local_zone_field = "instructor_timezone"
    list_display = ("when", "attendee", "instructor", "session", "status_badge", "payment_badge")
    list_display_links = ("when", "attendee")
    list_filter = (
        LocalDateFilter,
        "status",
        "payment_status",
        ("instructor", admin.RelatedOnlyFieldListFilter),
        BrandListFilter,
    )
    list_select_related = ("instructor", "event_type", "brand")
    ordering = ("start_at", "id")
    search_fields = ("attendee_name", "attendee_email", "attendee_phone", "uid")
    fieldsets = [
        (
            None,
            {"fields": ("uid", "brand", "instructor", "event_type", "status_badge", "payment_badge", "series_link")},
        ),
        (
            "Time",
            {
                "fields": (
                    "local_start",
                    "local_end",
                    "student_time",
                    "instructor_timezone",
                    "student_timezone",
                    "sequence",
                )
            },
        ),
        ("Attendee", {"fields": ("attendee_name", "attendee_email", "attendee_phone")}),
        ("Notes", {"fields": ("notes", "instructor_notes")}),
        ("Cancellation", {"fields": ("cancellation_reason", "cancelled_by", "cancelled")}),
        ("Record", {"fields": ("created", "updated")}),
    ]
    inlines = [PaymentInline]
    actions = ["confirm", "confirm_waiving_payment", "cancel", "complete", "mark_no_show"]

    @admin.display(description="weekly series")
    def series_link(self, booking: Booking):
        if not booking.series_id:
            return "-"
        url = admin_url_for_series(booking.series_id)
        return format_html('<a href="{}">Every session of this series</a>', url)

    # --- the list --------------------------------------------------------------------------------

    @admin.display(description="when (local)", ordering="start_at")
    def when(self, booking: Booking):
        return local_time(booking.start_at, booking.instructor_timezone)

    @admin.display(description="attendee", ordering="attendee_name")
    def attendee(self, booking: Booking):
        return format_html('{}<span class="bo-attendee-email">{}</span>', booking.attendee_name, booking.attendee_email)

    @admin.display(description="session", ordering="event_type__name")
    def session(self, booking: Booking) -> str:
        return booking.event_type.name

    @admin.display(description="status", ordering="status")
    def status_badge(self, booking: Booking):
        return status_badge(booking.status, booking.get_status_display())

    @admin.display(description="payment", ordering="payment_status")
    def payment_badge(self, booking: Booking):
        return payment_badge(booking.payment_status, booking.get_payment_status_display())

    def get_list_display(self, request):
        # The brand is a column only for users who see more than one (a filter does the rest).
        if self._sees_several_brands(request):
            return (*self.list_display, "brand")
        return self.list_display

    def _sees_several_brands(self, request) -> bool:
        if not hasattr(request, "_sees_several_brands"):
            request._sees_several_brands = brands_of(request)[:2].count() > 1
        return request._sees_several_brands

    # --- the booking's page ----------------------------------------------------------------------

    @admin.display(description="starts")
    def local_start(self, booking: Booking):
        return local_time(booking.start_at, booking.instructor_timezone, utc_beside=True)

    @admin.display(description="ends")
    def local_end(self, booking: Booking):
        return local_time(booking.end_at, booking.instructor_timezone, utc_beside=True)

    @admin.display(description="cancelled at")
    def cancelled(self, booking: Booking):
        return local_time(booking.cancelled_at, booking.instructor_timezone)

    @admin.display(description="created at")
    def created(self, booking: Booking):
        return local_time(booking.created_at, booking.instructor_timezone)

    @admin.display(description="updated at")
    def updated(self, booking: Booking):
        return local_time(booking.updated_at, booking.instructor_timezone)

    @admin.display(description="student's time")
    def student_time(self, booking: Booking):
        return local_time(booking.start_at, booking.student_timezone)

    def get_readonly_fields(self, request, obj=None):
        shown = [name for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]
        return [name for name in shown if name not in self.editable_fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        # "Save and add another" would lead to the phone booking, which is its own page.
        extra_context = {"show_save_and_add_another": False, **(extra_context or {})}
        if booking is not None:
            change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
            extra_context.update(
                booking_actions=admin_views.actions_for(booking, next_url=change_url)
                if self.has_change_permission(request, booking)
                else [],
                booking_when=local_time(booking.start_at, booking.instructor_timezone, utc_beside=True),
                week_url=admin_views.page_url(
                    "week",
                    instructor=booking.instructor_id,
                    brand=booking.brand_id,
                    start=booking.start_at.astimezone(zone(booking.instructor_timezone)).date(),
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """ "Add booking" is a phone booking through ``booking_create``, never a bare model form."""
        return admin_views.phone_booking_view(self, request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "today_url": reverse("admin:bookings_booking_today"),
            "week_url": reverse("admin:bookings_booking_week"),
        }
        return super().changelist_view(request, extra_context)

    def has_delete_permission(self, request, obj=None):
        # Bookings end by cancellation (an event, notifications, webhooks), never by deletion.
        return False

    def save_model(self, request, obj, form, change):
        booking_update_notes(booking=obj, **{name: form.cleaned_data[name] for name in self.editable_fields})

    # --- pages of their own: week, today, phone booking, the booking's buttons -------------------

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(partial(function, self))

        def action(name):
            def run(request, object_id):
                return admin_views.booking_action_view(self, request, object_id, name)

            return self.admin_site.admin_view(run)

        own = [
            path("week/", view(admin_views.week_view), name="bookings_booking_week"),
            path("today/", view(admin_views.today_view), name="bookings_booking_today"),
        ]
        for name in admin_views.ACTIONS:
            own.append(
                path(f"<path:object_id>/{name.replace('_', '-')}/", action(name), name=f"bookings_booking_{name}")
            )
        return own + super().get_urls()

    # --- bulk actions on the list ----------------------------------------------------------------

    def _apply(self, request, queryset, verb: str, change: Callable[[Booking], object]) -> None:
        """Run one lifecycle service per booking; refusals are reported, never forced."""
        done, refused = 0, []
        for booking in queryset:
            try:
                change(booking)
                done += 1
                self.log_change(request, booking, f"{verb.capitalize()} (bulk action).")
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


@admin.register(Payment)
class PaymentAdmin(BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "booking__brand"
    list_display = ("recorded", "booking", "amount", "currency", "provider", "reference", "status")
    list_filter = ("status", "currency", "provider", BrandListFilter)
    list_select_related = ("booking",)
    date_hierarchy = "created_at"
    search_fields = ("reference", "booking__attendee_email", "booking__attendee_name")
    fields = ("booking", "recorded", "amount", "currency", "provider", "reference", "status", "raw_payload")
    readonly_fields = fields

    @admin.display(description="recorded", ordering="created_at")
    def recorded(self, payment: Payment):
        return local_time(payment.created_at, payment.booking.instructor_timezone)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- the dashboard on the admin index ------------------------------------------------------------------

DASHBOARD_ROWS = 6


def _booking_admin(request) -> BookingAdmin | None:
    from django.contrib.admin import site

    booking_admin = site.get_model_admin(Booking)
    return booking_admin if booking_admin.has_view_permission(request) else None


@dashboard_panel(order=10)
def todays_sessions_panel(request) -> DashboardPanel | None:
    """The sessions of today (each instructor's local today), cancelled ones left out."""
    booking_admin = _booking_admin(request)
    if booking_admin is None:
        return None
    sessions = [
        booking
        for booking in day_sessions(bookings=booking_admin.get_queryset(request))
        if booking.status != BookingStatus.CANCELLED
    ]
    return DashboardPanel(
        title="Today's sessions",
        count=len(sessions),
        url=reverse("admin:bookings_booking_today"),
        link_text="Today, with the buttons",
        rows=[
            DashboardRow(
                text=format_html(
                    "{} {}, {}",
                    local_hours(booking.start_at, booking.end_at, booking.instructor_timezone),
                    booking.attendee_name,
                    booking.instructor.name,
                ),
                url=reverse("admin:bookings_booking_change", args=[booking.pk]),
                note=status_badge(booking.status, booking.get_status_display()),
            )
            for booking in sessions[:DASHBOARD_ROWS]
        ],
        empty_text="No sessions today.",
        links=[
            ("Week calendar", reverse("admin:bookings_booking_week")),
            ("Add a booking", reverse("admin:bookings_booking_add")),
        ],
    )


@dashboard_panel(order=20)
def pending_confirmations_panel(request) -> DashboardPanel | None:
    """Upcoming bookings still waiting for staff to confirm them."""
    booking_admin = _booking_admin(request)
    if booking_admin is None:
        return None
    pending = booking_admin.get_queryset(request).filter(
        status=BookingStatus.PENDING, start_at__gte=django_timezone.now()
    )
    first, count = first_and_count(pending.select_related("instructor").order_by("start_at"), DASHBOARD_ROWS)
    return DashboardPanel(
        title="Pending confirmations",
        count=count,
        url=reverse("admin:bookings_booking_changelist") + "?status__exact=pending&when=upcoming",
        link_text="All pending bookings",
        rows=[
            DashboardRow(
                text=b.attendee_name,
                url=reverse("admin:bookings_booking_change", args=[b.pk]),
                note=format_html(
                    "{} · {}", local_time(b.start_at, b.instructor_timezone, year=False), b.instructor.name
                ),
            )
            for b in first
        ],
        empty_text="Nothing waiting.",
        alert=True,
    )


# --- the instructors' calendar feeds ---------------------------------------------------------------


@admin.register(CalendarFeed)
class CalendarFeedAdmin(BrandScopedAdmin, admin.ModelAdmin):
    """Each instructor's secret calendar subscription URL, shown to copy and reissued through the service.

    One feed per instructor covers all their brands (first names and session
    types only), so staff of any of those brands may see and reissue it:
    reissuing (``bookings.services.calendar_feed_rotate``) makes the old URL a 404.
    """

    brand_path = "instructor__assignments__brand"
    list_display = ("instructor", "issued", "subscription_url")
    fields = ("instructor", "issued", "subscription_url")
    readonly_fields = fields
    search_fields = ("instructor__name",)
    actions = ["reissue"]

    @admin.display(description="issued")
    def issued(self, feed: CalendarFeed):
        return local_time(feed.created_at, "UTC")

    @admin.display(description="subscription URL")
    def subscription_url(self, feed: CalendarFeed):
        return format_html(
            '<input type="text" readonly size="80" value="{}" aria-label="Calendar feed URL of {}">',
            calendar_feed_url(feed),
            feed.instructor,
        )

    def has_add_permission(self, request):
        return False  # a feed is issued from its instructor's page ("issue" below)

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Issue new URLs for the selected feeds (the old ones stop working)")
    def reissue(self, request, queryset):
        for feed in queryset.select_related("instructor"):
            calendar_feed_rotate(instructor=feed.instructor)
        self.message_user(request, f"{queryset.count()} feed URL(s) reissued; the old URLs answer 404 now.")

    def get_urls(self):
        issue = self.admin_site.admin_view(partial(admin_views.calendar_feed_issue_view, self))
        return [path("issue/<int:instructor_id>/", issue, name="bookings_calendarfeed_issue"), *super().get_urls()]
