from django.urls import URLPattern, path

from . import report_views

urlpatterns: list[URLPattern] = [
    path("", report_views.report, name="report"),
    path("merchants/<int:pk>/", report_views.report_merchant, name="report_merchant"),
    path("report.xlsx", report_views.report_xlsx, name="report_xlsx"),
    path("report.pdf", report_views.report_pdf, name="report_pdf"),
]
