from django.urls import URLPattern, path

from . import report_views

urlpatterns: list[URLPattern] = [
    path("", report_views.report_list, name="reports"),
    path("generate/", report_views.generate, name="report_generate"),
    path("bulk/", report_views.bulk, name="report_bulk"),
    path("bulk/<int:pk>/", report_views.bulk_run, name="report_bulk_run"),
    path("bulk/<int:pk>/progress/", report_views.bulk_progress, name="report_bulk_progress"),
    path("<int:pk>/", report_views.report_detail, name="report"),
    path("<int:pk>.pdf", report_views.report_pdf, name="report_pdf"),
    path("<int:pk>.xlsx", report_views.report_xlsx, name="report_xlsx"),
    path("<int:pk>/sent/", report_views.mark_sent, name="report_sent"),
]
