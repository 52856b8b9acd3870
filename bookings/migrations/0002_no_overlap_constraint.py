"""PostgreSQL only: the database itself forbids overlapping active bookings.

An exclusion constraint over ``tstzrange(start_at, end_at, '[)')`` per
instructor (btree_gist for the ``=`` on the id), limited to active bookings,
so adjacent bookings (end == start) and cancelled ones never conflict. SQLite
has no such constraint; there the booking service serialises writes inside an
IMMEDIATE transaction (see ``bookings.services``).
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

CONSTRAINT_NAME = "booking_no_overlapping_active"

CREATE = f"""
ALTER TABLE bookings_booking ADD CONSTRAINT {CONSTRAINT_NAME}
EXCLUDE USING gist (
    instructor_id WITH =,
    tstzrange(start_at, end_at, '[)') WITH &&
) WHERE (status IN ('pending', 'confirmed'))
"""
DROP = f"ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT_NAME}"


def create_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        migrations.RunPython(create_constraint, drop_constraint),
    ]
