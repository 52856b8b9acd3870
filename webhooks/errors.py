"""The webhooks app's refusals (answered 409 by the API, shown as messages in the admin)."""

from booking_project.refusals import Refusal


class SubscriptionDisabled(Refusal):
    """Nothing is sent to a disabled subscription; re-enable it first."""

    code = "subscription_disabled"


class DeliveryInProgress(Refusal):
    """A delivery that is still being attempted cannot be redelivered yet."""

    code = "delivery_in_progress"
