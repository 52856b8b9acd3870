"""The OpenAPI schema (drf-spectacular): valid, warning-free, documenting every operation and parameter."""

import pytest
from django.core.management import call_command
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

AVAILABILITY_PARAMETERS = {
    "instructor_id": "instructorId",
    "start_date": "startDate",
    "days": None,
    "session_minutes": "sessionMinutes",
    "event_type_id": "eventTypeId",
    "interval_minutes": "intervalMinutes",
    "student_timezone": "studentTimezone",
}


@pytest.fixture
def warnings_and_errors():
    GENERATOR_STATS.reset()
    yield GENERATOR_STATS
    GENERATOR_STATS.reset()


def schema_of(patterns=None) -> dict:
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema() -> dict:
    with GENERATOR_STATS.silence():
        return schema_of()


def test_the_whole_schema_validates_without_warnings(tmp_path):
    """The project's schema as served at /api/schema/ (every app's endpoints)."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_scheduling_and_availability_endpoints_generate_without_warnings(warnings_and_errors):
    patterns = [path("api/", include("scheduling.api.urls"))]

    generated = schema_of(patterns)

    validate_schema(generated)
    assert not warnings_and_errors._warn_cache, dict(warnings_and_errors._warn_cache)
    assert not warnings_and_errors._error_cache, dict(warnings_and_errors._error_cache)


@pytest.mark.parametrize(
    ("route", "methods"),
    [
        ("/api/instructors/", {"get", "post"}),
        ("/api/instructors/{id}/", {"get", "patch", "delete"}),
        ("/api/bookings/instructors/", {"get"}),
        ("/api/event-types/", {"get", "post"}),
        ("/api/event-types/{id}/", {"get", "patch", "delete"}),
        ("/api/bookings/availability/", {"get", "put"}),
        ("/api/bookings/availability/settings/", {"get"}),
        ("/api/bookings/series/{series_id}/", {"delete"}),
        ("/api/instructors/{id}/calendar-feed/", {"post"}),
    ],
)
def test_every_endpoint_is_documented(schema, route, methods):
    assert methods <= set(schema["paths"][route])


def test_availability_documents_every_query_parameter_and_its_alias(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/bookings/availability/"]["get"]["parameters"]}

    assert set(AVAILABILITY_PARAMETERS) <= set(parameters)
    assert parameters["instructor_id"]["required"] is True
    for name, alias in AVAILABILITY_PARAMETERS.items():
        assert parameters[name]["description"]
        if alias:
            assert alias in parameters[name]["description"]
    assert "interval" in parameters["interval_minutes"]["description"]


def test_availability_settings_documents_the_instructor(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/bookings/availability/settings/"]["get"]["parameters"]}

    assert "instructor_id" in parameters


def test_the_availability_response_and_put_body_are_described(schema):
    components = schema["components"]["schemas"]
    get = schema["paths"]["/api/bookings/availability/"]["get"]
    put = schema["paths"]["/api/bookings/availability/"]["put"]

    response_ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    response = components[response_ref.rsplit("/", 1)[-1]]
    assert set(response["properties"]) == {
        "instructor_id",
        "instructor_timezone",
        "student_timezone",
        "session_minutes",
        "slots",
    }
    body_ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = components[body_ref.rsplit("/", 1)[-1]]
    assert {"instructor_id", "timezone", "weekly", "overrides", "buffer_minutes"} <= set(body["properties"])


def test_the_list_or_string_fields_document_both_input_forms(schema):
    request = schema["components"]["schemas"]["EventTypeRequest"]["properties"]
    response = schema["components"]["schemas"]["EventType"]["properties"]

    for name in ("booking_notification_emails", "reminder_minutes_before", "reminder_channels"):
        assert {variant["type"] for variant in request[name]["oneOf"]} == {"array", "string"}
        assert response[name]["type"] == "array"


def test_the_api_key_is_documented_as_bearer(schema):
    schemes = schema["components"]["securitySchemes"]

    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())


def test_every_operation_has_a_summary_and_a_description(schema):
    missing = [
        f"{method.upper()} {path}: {name}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        for name in ("summary", "description")
        if not operation.get(name, "").strip()
    ]

    assert not missing, missing


def test_the_booking_operations_document_the_token_and_the_refusal_reasons(schema):
    detail = schema["paths"]["/api/bookings/{id}/"]
    create = schema["paths"]["/api/bookings/"]["post"]

    for method in ("get", "patch", "delete"):
        assert "X-Booking-Token" in {parameter["name"] for parameter in detail[method]["parameters"]}
    for reason in (
        "taken",
        "buffer",
        "outside_availability",
        "minimum_notice",
        "beyond_window",
        "in_past",
        "off_grid",
        "limit_reached",
    ):
        assert reason in create["description"]


def test_a_series_is_documented_in_the_create_body_and_answer(schema):
    components = schema["components"]["schemas"]
    create = schema["paths"]["/api/bookings/"]["post"]

    body = components[create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    answer = create["responses"]["201"]["content"]["application/json"]["schema"]
    variants = components[answer["$ref"].rsplit("/", 1)[-1]]["oneOf"]

    assert {"recurrence", "skip_conflicts"} <= set(body["properties"])
    assert len(variants) == 2
    assert "series_id" in components["Booking"]["properties"]
    assert {"max_bookings_per_day", "max_bookings_per_week"} <= set(components["AvailabilitySettings"]["properties"])
