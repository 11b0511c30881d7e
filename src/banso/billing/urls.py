from django.urls import include, path

from . import close_urls, invoice_urls, newsletter_urls, portal_urls, recon_urls, report_urls, views

app_name = "billing"
urlpatterns = [
    path("", views.index, name="index"),
    path("reports/", include(report_urls.urlpatterns)),
    path("reconciliation/", include(recon_urls.urlpatterns)),
    path("newsletters/", include(newsletter_urls.urlpatterns)),
    path("portal/", include(portal_urls.urlpatterns)),
    path("invoices/", include(invoice_urls.urlpatterns)),
    path("", include(close_urls.urlpatterns)),
]
