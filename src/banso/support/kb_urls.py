"""URLs of the support desk's kb area (included by urls.py under kb/)."""

from django.urls import URLPattern, URLResolver, path

from . import kb_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", kb_views.articles, name="kb_articles"),
    path("new/", kb_views.article_new, name="kb_article_new"),
    path("preview/", kb_views.preview, name="kb_preview"),
    path("<int:pk>/", kb_views.article, name="kb_article"),
    path("<int:pk>/save", kb_views.article_save, name="kb_article_save"),
    path("<int:pk>/publish", kb_views.article_publish, name="kb_article_publish"),
    path("<int:pk>/status", kb_views.article_status, name="kb_article_status"),
    path("<int:pk>/revert", kb_views.article_revert, name="kb_article_revert"),
    path("search-logs/", kb_views.search_logs, name="search_logs"),
    path("synonyms/", kb_views.synonyms, name="kb_synonyms"),
    path("synonyms/save", kb_views.synonyms_save, name="kb_synonyms_save"),
]
