"""App configs of the project package.

- ``BookingProjectConfig``: the project package itself is an app, so that
  project-wide management commands (``manage.py demo``) live here, in the one
  package allowed to know every app.
- ``BackOfficeAdminConfig``: Django's admin with the back office's own site
  (``booking_project.admin_site.BackOfficeSite``), installed in place of
  ``django.contrib.admin``.
"""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # the module, so its default AdminConfig is not one of ours


class BookingProjectConfig(AppConfig):
    default = True
    name = "booking_project"
    verbose_name = "Booking project"


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "booking_project.admin_site.BackOfficeSite"
