from django.contrib import admin
from django.urls import include, path

from banso.api.api import api
from banso.billing.newsletter_public_urls import urlpatterns as billing_newsletter_public_urls
from banso.core import views as core_views
from banso.health.survey_urls import public_urlpatterns as survey_answer_urls

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", core_views.BansoLoginView.as_view(), name="login"),
    path("logout/", core_views.logout_view, name="logout"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("banso.accounts.urls")),
    path("imports/", include("banso.activity.urls")),
    path("analytics/", include("banso.analytics.urls")),
    path("health/", include("banso.health.urls")),
    path("churn/", include("banso.churn.urls")),
    path("success/", include("banso.success.urls")),
    path("playbooks/", include("banso.playbooks.urls")),
    path("funnels/", include("banso.funnels.urls")),
    path("marketplace/", include("banso.marketplace.urls")),
    path("billing/", include("banso.billing.urls")),
    path("support/", include("banso.support.urls")),
    path("campaigns/", include("banso.campaigns.urls")),
    path("n/", include((billing_newsletter_public_urls, "newsletter_public"))),  # public: newsletter links
    path("survey/", include((survey_answer_urls, "survey_public"))),  # public: signed links in survey mails
]
