from django.urls import path

from . import views

urlpatterns = [
    path("booking/<uuid:uid>/", views.booking_manage, name="booking-manage"),
]
