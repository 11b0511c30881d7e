from django.urls import URLPattern, path

from . import portal_views

urlpatterns: list[URLPattern] = [
    path("", portal_views.portal, name="portal"),
    path("statements/<int:pk>/pdf/", portal_views.portal_statement_pdf, name="portal_statement_pdf"),
    path("invoices/<int:pk>/pdf/", portal_views.portal_invoice_pdf, name="portal_invoice_pdf"),
]
