from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list, name="list"),
    path("export.<str:fmt>", views.account_export, name="export"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/timeline/", views.account_timeline, name="timeline"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("<int:pk>/audit/", views.account_audit, name="audit"),
    path("<int:pk>/contacts/add/", views.contact_add, name="contact_add"),
    path("<int:pk>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_id>/left/", views.contact_left, name="contact_left"),
    path("<int:pk>/contracts/add/", views.contract_add, name="contract_add"),
    path("<int:pk>/contracts/<int:contract_id>/edit/", views.contract_edit, name="contract_edit"),
]
