"""``manage.py createbrand SLUG [--name NAME] [--scope secret|public]``.

Creates the brand if needed, then a new API key, printed alone on the last
line of stdout so scripts can capture it (``KEY=$(... | tail -n 1)``).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scheduling.models import ApiKey
from scheduling.services import api_key_create, brand_get_or_create


class Command(BaseCommand):
    help = "Create a brand (if missing) and an API key for it; prints the key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument("--scope", choices=ApiKey.Scope.values, default=ApiKey.Scope.SECRET)

    def handle(self, *args, slug, name, scope, **options):
        try:
            brand, created = brand_get_or_create(slug=slug, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        _, key = api_key_create(brand=brand, scope=scope)
        self.stdout.write(f"{'Created' if created else 'Found'} brand '{brand.slug}'; new {scope} API key:")
        self.stdout.write(key)
