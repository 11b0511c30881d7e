"""URLs of the marketplace's bookings area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import bookings_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", bookings_views.booking_list, name="bookings"),
    path("<int:pk>/", bookings_views.booking_detail, name="booking"),
    path("<int:pk>/refund/", bookings_views.booking_refund, name="booking_refund"),
]
