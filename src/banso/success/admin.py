from django.contrib import admin

from .models import CoveragePlan, CoverageTarget, Renewal, SuccessSettings, Touch


@admin.register(Touch)
class TouchAdmin(admin.ModelAdmin[Touch]):
    list_display = ("occurred_at", "account", "csm", "channel", "outcome", "next_step_due")
    list_filter = ("channel", "outcome")
    raw_id_fields = ("account", "contact", "successor", "csm", "target", "created_by")


@admin.register(Renewal)
class RenewalAdmin(admin.ModelAdmin[Renewal]):
    list_display = ("renewal_date", "account", "mrr", "stage", "renewed_mrr")
    list_filter = ("stage",)
    raw_id_fields = ("contract", "account", "updated_by")


@admin.register(CoveragePlan)
class CoveragePlanAdmin(admin.ModelAdmin[CoveragePlan]):
    list_display = ("month", "generated_at", "locked_at", "locked_by")


@admin.register(CoverageTarget)
class CoverageTargetAdmin(admin.ModelAdmin[CoverageTarget]):
    list_display = ("plan", "account", "reason", "priority", "assignee", "planned_on")
    list_filter = ("plan", "reason")
    raw_id_fields = ("account", "assignee")


admin.site.register(SuccessSettings)
