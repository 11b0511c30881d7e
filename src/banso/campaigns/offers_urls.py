"""URLs of the campaigns' offers area (included by urls.py under offers/): offers, special rates, the calendar,
ASPs."""

from django.urls import URLPattern, URLResolver, path

from . import offers_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.offer_list, name="offers"),
    path("new/", views.offer_new, name="offer_new"),
    path("<int:pk>/", views.offer_detail, name="offer"),
    path("<int:pk>/edit/", views.offer_edit, name="offer_edit"),
    path("<int:pk>/status/", views.offer_status, name="offer_status"),
    path("<int:pk>/checklist/", views.offer_tick, name="offer_tick"),
    path("rates/new/", views.rate_new, name="rate_new"),
    path("rates/<int:pk>/edit/", views.rate_edit, name="rate_edit"),
    path("rates/<int:pk>/cancel/", views.rate_cancel, name="rate_cancel"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/turn/", views.month_turn, name="month_turn"),
    path("switches/apply/", views.switches_apply, name="switches_apply"),
    path("asps/", views.asp_list, name="asps"),
    path("asps/new/", views.asp_new, name="asp_new"),
    path("asps/<int:pk>/edit/", views.asp_edit, name="asp_edit"),
]
