from django.urls import URLPattern, path

from . import close_views

urlpatterns: list[URLPattern] = [
    path("closes/", close_views.close_list, name="closes"),
    path("closes/<str:month>/preview/", close_views.close_preview, name="close_preview"),
    path("closes/<str:month>/close/", close_views.close_start, name="close_start"),
    path("closes/runs/<int:pk>/progress/", close_views.close_progress, name="close_progress"),
    path("closes/runs/<int:pk>/documents/", close_views.close_documents, name="close_documents"),
    path("statements/", close_views.statement_list, name="statements"),
    path("statements/<int:pk>/", close_views.statement_detail, name="statement"),
    path("statements/<int:pk>/pdf/", close_views.statement_pdf, name="statement_pdf"),
    path("invoices/<int:pk>/pdf/", close_views.invoice_pdf, name="invoice_pdf"),
    path("rules/", close_views.rule_list, name="rules"),
    path("rules/new/", close_views.rule_create, name="rule_create"),
    path("rules/<int:pk>/end/", close_views.rule_end, name="rule_end"),
    path("charges/", close_views.charge_list, name="charges"),
    path("charges/new/", close_views.charge_create, name="charge_create"),
    path("adjustments/", close_views.adjustment_list, name="adjustments"),
    path("adjustments/new/", close_views.adjustment_create, name="adjustment_create"),
]
