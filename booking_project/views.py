"""The landing page at ``/``: where a newcomer goes next."""

from django.shortcuts import render

from scheduling.models import Brand

BRANDS_LISTED = 20


def home(request):
    """Links to the brands' booking pages, the back office and the API docs."""
    brands = Brand.objects.order_by("name")[:BRANDS_LISTED]
    return render(request, "home.html", {"brands": brands})
