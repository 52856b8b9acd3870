"""Webhook subscriptions and their delivery log in the back office.

Subscriptions show their health (last success, failures in a row, why they
were disabled) and are created and changed through ``webhooks.services``,
like the API: the form asks the services' checks (URL guard, event types)
and reports them next to the fields. Deliveries and attempts are records of
what was sent, so they are read-only; "Redeliver" and "Re-enable" go
through the services too. Brand staff see only their brands' rows
(``booking_project.admin_scoping``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F, Q, Subquery
from django.forms.models import BaseInlineFormSet
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
from booking_project.refusals import Refusal
from bookings.signals import EVENT_NAMES

from . import services
from .models import WebhookAttempt, WebhookDelivery, WebhookSubscription

RECENT_DELIVERIES = 20


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _each(model_admin, request, rows, service) -> int:
    """Call a service for each selected row; a refusal is shown for its row and the others go on."""
    done = 0
    for row in rows:
        try:
            service(row)
        except Refusal as refusal:
            model_admin.message_user(
                request, f"{row._meta.verbose_name.capitalize()} {row.pk}: {refusal.message}", messages.WARNING
            )
            continue
        done += 1
    return done


# --- subscriptions ----------------------------------------------------------------------


class SubscriptionAdminForm(forms.ModelForm):
    """The subscription form: the services' checks, reported next to their fields."""

    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_NAMES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ("brand", "url", "event_types", "description", "is_active")

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if "url" in self.changed_data or self.instance.pk is None:
            message = services.url_error(url)
            if message:
                raise ValidationError(message)
        return url

    def clean_event_types(self):
        try:
            return services.event_types_clean(self.cleaned_data["event_types"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["event_types"]) from None


class LatestDeliveriesFormSet(BaseInlineFormSet):
    """The subscription's latest deliveries only (a formset cannot be sliced, so they are picked by id)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        latest = self.queryset.order_by("-created_at", "-id").values("pk")[:RECENT_DELIVERIES]
        self.queryset = self.queryset.filter(pk__in=Subquery(latest)).order_by("-created_at", "-id")


class RecentDeliveryInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    """The latest deliveries; each links to its page (attempts, "Redeliver"); the delivery log has them all."""

    model = WebhookDelivery
    formset = LatestDeliveriesFormSet
    fk_name = "subscription"
    brand_path = "subscription__brand"
    verbose_name_plural = f"latest {RECENT_DELIVERIES} deliveries"
    fields = ("created_at", "event_type", "status", "attempt_count", "last_response_status", "last_error")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(BrandScopedAdmin, admin.ModelAdmin):
    form = SubscriptionAdminForm
    list_display = (
        "url",
        "brand",
        "is_active",
        "event_type_list",
        "last_success_at",
        "last_failure_at",
        "consecutive_failures",
        "disabled_reason_excerpt",
        "delivery_log",
    )
    list_filter = ("is_active", BrandListFilter)
    list_select_related = ("brand",)
    search_fields = ("url", "description")
    readonly_fields = (
        "secret",
        "previous_secret_expires_at",
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "delivery_log",
        "created_at",
        "updated_at",
    )
    inlines = [RecentDeliveryInline]
    actions = ["re_enable", "send_test_event"]

    def get_fieldsets(self, request, obj=None):
        main = ("url", "event_types", "description") if obj else ("brand", "url", "event_types", "description")
        fieldsets = [(None, {"fields": main})]
        if obj is not None:
            fieldsets += [
                (
                    "Health",
                    {
                        "fields": (
                            "is_active",
                            "disabled_reason",
                            "disabled_at",
                            "consecutive_failures",
                            "last_success_at",
                            "last_failure_at",
                            "delivery_log",
                        )
                    },
                ),
                ("Signing", {"fields": ("secret", "previous_secret_expires_at")}),
                ("Record", {"fields": ("created_at", "updated_at")}),
            ]
        return fieldsets

    @admin.display(description="event types")
    def event_type_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_types or [])

    @admin.display(description="disabled because")
    def disabled_reason_excerpt(self, subscription: WebhookSubscription) -> str:
        return Truncator(subscription.disabled_reason).chars(80)

    @admin.display(description="deliveries")
    def delivery_log(self, subscription: WebhookSubscription) -> str:
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?subscription__id__exact={subscription.pk}"
        return format_html('<a href="{}">delivery log</a>', url)

    def save_model(self, request, obj, form, change):
        """Write through the services, like the API."""
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in form.changed_data if name in services.UPDATABLE_FIELDS}
            saved = services.subscription_update(subscription=obj, **changes)
        else:
            saved = services.subscription_create(
                brand=data["brand"], url=data["url"], event_types=data["event_types"], description=data["description"]
            )
        for model_field in obj._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(saved, model_field.attname))
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.subscription_delete(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            services.subscription_delete(subscription=subscription)

    @admin.action(
        description="Re-enable the selected subscriptions (resets their failure count)", permissions=["change"]
    )
    def re_enable(self, request, queryset):
        disabled = list(queryset.filter(is_active=False))
        for subscription in disabled:
            services.subscription_update(subscription=subscription, is_active=True)
            self.log_change(request, subscription, "Re-enabled.")
        self.message_user(
            request, f"Re-enabled {_count(len(disabled), 'subscription', 'subscriptions')}.", messages.SUCCESS
        )

    @admin.action(description="Send a test event (webhook.test) to the selected subscriptions", permissions=["change"])
    def send_test_event(self, request, queryset):
        sent = _each(
            self, request, queryset, lambda subscription: services.subscription_ping(subscription=subscription)
        )
        if sent:
            self.message_user(
                request, f"Queued a test event for {_count(sent, 'subscription', 'subscriptions')}.", messages.SUCCESS
            )


# --- deliveries ---------------------------------------------------------------------------


class AttemptInline(ReadOnlyAdminMixin, BrandScopedAdmin, admin.TabularInline):
    model = WebhookAttempt
    brand_path = "delivery__subscription__brand"
    fields = (
        "number",
        "created_at",
        "succeeded",
        "response_status",
        "duration_ms",
        "error",
        "response_truncated",
        "response_body",
    )
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, BrandScopedAdmin, admin.ModelAdmin):
    brand_path = "subscription__brand"
    list_display = (
        "created_at",
        "event_type",
        "status",
        "attempt_count",
        "last_response_status",
        "next_attempt_at",
        "subscription",
        "brand",
        "error_excerpt",
    )
    list_filter = ("status", "event_type", "created_at", BrandListFilter)
    list_select_related = ("subscription__brand",)
    search_fields = ("message_id", "subscription__url", "event__booking__uid")
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ("subscription", "event", "event_type", "message_id", "redelivery_of")}),
        (
            "Delivery",
            {
                "fields": (
                    "status",
                    "attempt_count",
                    "next_attempt_at",
                    "last_attempt_at",
                    "last_response_status",
                    "last_error",
                    "delivered_at",
                )
            },
        ),
        ("Body", {"fields": ("body", "created_at", "updated_at")}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.display(description="brand", ordering="subscription__brand__name")
    def brand(self, delivery: WebhookDelivery):
        return delivery.subscription.brand

    @admin.display(description="error")
    def error_excerpt(self, delivery: WebhookDelivery) -> str:
        return Truncator(delivery.last_error).chars(80)

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhooksubscription")

    @admin.action(description="Redeliver the selected deliveries (same body and webhook-id)", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        queued = _each(
            self,
            request,
            queryset.select_related("subscription"),
            lambda row: services.delivery_redeliver(delivery=row),
        )
        if queued:
            self.message_user(
                request, f"Queued {_count(queued, 'delivery', 'deliveries')} to send again.", messages.SUCCESS
            )


# --- the dashboard on the admin index ------------------------------------------------------------

FAILING_ROWS = 5


def _health_note(subscription: WebhookSubscription) -> str:
    if not subscription.is_active:
        return f"disabled: {Truncator(subscription.disabled_reason).chars(60)}"
    if subscription.consecutive_failures:
        failures = _count(subscription.consecutive_failures, "delivery", "deliveries")
        return f"{failures} in a row gave up after every attempt"
    return "the latest attempt failed; retrying"


@dashboard_panel(order=40)
def failing_subscriptions_panel(request) -> DashboardPanel | None:
    """Subscriptions whose receiver is failing or that were disabled: deliveries are not arriving there."""
    subscription_admin = admin.site.get_model_admin(WebhookSubscription)
    if not subscription_admin.has_view_permission(request):
        return None
    failing = subscription_admin.get_queryset(request).filter(
        Q(is_active=False, disabled_at__isnull=False)  # disabled (410, sustained failure, or by hand)
        | Q(consecutive_failures__gt=0)  # deliveries gave up since the last success
        | Q(last_failure_at__isnull=False, last_success_at__isnull=True)  # never delivered, failing
        | Q(last_failure_at__gte=F("last_success_at"))  # the latest attempt failed (or failed as well)
    )
    first, count = first_and_count(failing.order_by("is_active", "-last_failure_at", "-id"), FAILING_ROWS)
    return DashboardPanel(
        title="Failing webhook subscriptions",
        count=count,
        url=reverse("admin:webhooks_webhooksubscription_changelist"),
        link_text="See their deliveries, redeliver or re-enable",
        rows=[
            DashboardRow(
                text=subscription.url,
                url=reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk]),
                note=_health_note(subscription),
            )
            for subscription in first
        ],
        empty_text="Every subscription is receiving its events.",
        alert=True,
    )
