"""Public URLs of the support desk's help area (no sign-in; included by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from . import help_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", help_views.index, name="help"),
    path("search/", help_views.search_page, name="help_search"),
    path("articles/<str:slug>/", help_views.article_page, name="help_article"),
    path("articles/<str:slug>/feedback", help_views.feedback, name="help_feedback"),
]
