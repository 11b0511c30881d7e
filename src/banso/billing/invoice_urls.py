from django.urls import URLPattern, path

from . import invoice_views

# Mounted at /billing/invoices/; an invoice's PDF is billing:invoice_pdf (/billing/invoices/<pk>/pdf/).
urlpatterns: list[URLPattern] = [
    path("", invoice_views.invoice_list, name="invoices"),
    path("settings/", invoice_views.billing_settings, name="billing_settings"),
    path("<int:pk>/", invoice_views.invoice_detail, name="invoice"),
]
