"""The admin app with the back office's own site (``booking_project.admin_site.BackOfficeSite``)."""

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "booking_project.admin_site.BackOfficeSite"
