"""``manage.py assigninstructor --instructor ID --brand SLUG``."""

from django.core.management.base import BaseCommand, CommandError

from scheduling.models import Brand, Instructor
from scheduling.services import instructor_assign


class Command(BaseCommand):
    help = "Assign an existing instructor to another brand (default scheduling settings)."

    def add_arguments(self, parser):
        parser.add_argument("--instructor", type=int, required=True, help="Instructor id")
        parser.add_argument("--brand", required=True, help="Brand slug")

    def handle(self, *args, instructor, brand, **options):
        try:
            instructor_obj = Instructor.objects.get(pk=instructor)
        except Instructor.DoesNotExist:
            raise CommandError(f"No instructor with id {instructor}.") from None
        try:
            brand_obj = Brand.objects.get(slug=brand)
        except Brand.DoesNotExist:
            raise CommandError(f"No brand with slug '{brand}'.") from None
        assignment = instructor_assign(instructor=instructor_obj, brand=brand_obj)
        self.stdout.write(f"{instructor_obj} is assigned to {brand_obj.slug} (timezone {assignment.timezone}).")
