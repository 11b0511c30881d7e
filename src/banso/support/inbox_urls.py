"""URLs of the support desk's inbox area (included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import inbox_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/bulk/", inbox_views.inbox_bulk, name="inbox_bulk"),
    path("inbox/requests/", inbox_views.team_requests, name="team_requests"),
    path("inquiries/new/", inbox_views.inquiry_new, name="inquiry_new"),
    path("inquiries/<int:number>/", inbox_views.inquiry, name="inquiry"),
    path("inquiries/<int:number>/thread/", inbox_views.inquiry_thread, name="inquiry_thread"),
    path("inquiries/<int:number>/reply/", inbox_views.inquiry_reply, name="inquiry_reply"),
    path("inquiries/<int:number>/update/", inbox_views.inquiry_update, name="inquiry_update"),
    path("inquiries/<int:number>/merge/", inbox_views.inquiry_merge, name="inquiry_merge"),
    path("inquiries/<int:number>/requests/", inbox_views.inquiry_request, name="inquiry_request"),
    path("inquiries/<int:number>/macros/<int:pk>/", inbox_views.inquiry_macro, name="inquiry_macro"),
    path("requests/<int:pk>/answer/", inbox_views.request_answer, name="request_answer"),
    path("macros/", inbox_views.macro_list, name="macros"),
    path("macros/new/", inbox_views.macro_edit, name="macro_new"),
    path("macros/<int:pk>/", inbox_views.macro_edit, name="macro_edit"),
]
