from django.contrib import admin

from . import models

for model in (
    models.Status,
    models.TeamSettings,
    models.Category,
    models.InquiryType,
    models.Tag,
    models.SlaPolicy,
    models.Macro,
    models.Synonym,
    models.SupportSettings,
):
    admin.site.register(model)


@admin.register(models.Inquiry)
class InquiryAdmin(admin.ModelAdmin[models.Inquiry]):
    list_display = ("number", "subject", "channel", "status", "priority", "assignee", "created_at")
    list_filter = ("channel", "priority", "status")
    search_fields = ("subject", "requester_email", "requester_name")
    raw_id_fields = ("account", "contact", "end_user", "booking", "merged_into")


@admin.register(models.Article)
class ArticleAdmin(admin.ModelAdmin[models.Article]):
    list_display = ("title", "status", "category", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "body")
