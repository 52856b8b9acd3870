"""``manage.py createstaff USERNAME --brand SLUG [--brand SLUG2] --password PASSWORD``."""

from django.core.management.base import BaseCommand, CommandError

from scheduling.models import Brand
from scheduling.services import staff_user_create


class Command(BaseCommand):
    help = "Create (or update) a staff user who manages the given brands in the admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--brand", action="append", required=True, dest="brands", help="Brand slug (repeatable)")
        parser.add_argument("--password", required=True)

    def handle(self, *args, username, brands, password, **options):
        found = list(Brand.objects.filter(slug__in=brands))
        missing = sorted(set(brands) - {b.slug for b in found})
        if missing:
            raise CommandError(f"Unknown brand(s): {', '.join(missing)}.")
        user = staff_user_create(username=username, password=password, brands=found)
        self.stdout.write(f"Staff user '{user.username}' manages: {', '.join(sorted(b.slug for b in found))}.")
