"""URLs of the support desk's analytics area (included by urls.py under /support/analytics/): inquiry
analytics, categories and inquiry types, the classifier, improvement requests."""

from django.urls import URLPattern, URLResolver, path

from . import analytics_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.analytics_page, name="analytics"),
    path("export.xlsx", views.analytics_export, name="analytics_export"),
    path("categories/", views.category_list, name="categories"),
    path("categories/new/", views.category_edit, name="category_new"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("categories/<int:pk>/remove/", views.category_remove, name="category_remove"),
    path("types/", views.type_list, name="inquiry_types"),
    path("types/new/", views.type_edit, name="inquiry_type_new"),
    path("types/<int:pk>/", views.type_edit, name="inquiry_type_edit"),
    path("classifier/", views.classifier_page, name="classifier"),
    path("classifier/train/", views.classifier_train, name="classifier_train"),
    path("classifier/trainings/<int:pk>/", views.classifier_training, name="classifier_training"),
    path(
        "classifier/trainings/<int:pk>/progress/",
        views.classifier_training_progress,
        name="classifier_training_progress",
    ),
    path("inquiries/<int:pk>/type/", views.classify_confirm, name="classify_confirm"),
    path("inquiries/<int:pk>/improvement/", views.improvement_link, name="improvement_link"),
    path("improvements/", views.improvement_list, name="improvements"),
    path("improvements/<int:pk>/", views.improvement_detail, name="improvement"),
    path("improvements/<int:pk>/status/", views.improvement_status, name="improvement_status"),
]
