"""Domain refusals of the booking services. The API answers them with 409
(``{"detail", "code"}``); pages and the admin show the message."""


class BookingConflict(Exception):
    code = "conflict"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SlotUnavailable(BookingConflict):
    code = "slot_unavailable"


class InvalidTransition(BookingConflict):
    code = "invalid_transition"


class CutoffPassed(BookingConflict):
    code = "cutoff_passed"


class PaymentRequired(BookingConflict):
    code = "payment_required"


class IdempotencyKeyReused(BookingConflict):
    """The same ``Idempotency-Key`` came with a different body (answered 422)."""

    code = "idempotency_key_reused"
