from django.contrib import admin

from .models import Booking, Firing, Incident, Provider, ProviderService, Rule


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin[Booking]):
    list_display = ["external_id", "provider", "plan", "scheduled_at", "amount", "status"]
    list_filter = ["status", "tax_rate", "refund_due"]
    raw_id_fields = ["provider", "end_user", "cancelled_by"]


class ProviderServiceInline(admin.TabularInline[ProviderService, Provider]):
    model = ProviderService
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin[Provider]):
    list_display = ["account", "status", "rating", "review_count", "daily_capacity"]
    list_filter = ["status"]
    raw_id_fields = ["account"]
    inlines = [ProviderServiceInline]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    list_display = ["number", "provider", "type", "severity", "status", "occurred_at"]
    list_filter = ["status", "type", "severity"]
    raw_id_fields = ["provider", "booking", "reported_by", "confirmed_by"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    list_display = ["name", "is_active", "threshold", "window_days", "weighted", "requires_approval"]


@admin.register(Firing)
class FiringAdmin(admin.ModelAdmin[Firing]):
    list_display = ["rule", "provider", "status", "score", "evaluated_at"]
    list_filter = ["status"]
    raw_id_fields = ["provider", "decided_by"]
