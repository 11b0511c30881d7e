from django.contrib import admin

from .models import Asp, Conversion, Offer, PushCampaign, SpecialRate


@admin.register(Asp)
class AspAdmin(admin.ModelAdmin[Asp]):
    list_display = ["name", "code", "report_format"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin[Offer]):
    list_display = ["name", "advertiser", "asp", "status", "reward_type", "reward_rate", "reward_amount"]
    list_filter = ["status", "category", "asp"]
    raw_id_fields = ["advertiser", "owner"]


@admin.register(SpecialRate)
class SpecialRateAdmin(admin.ModelAdmin[SpecialRate]):
    list_display = ["offer", "starts_at", "ends_at", "reward_type", "rate", "amount", "status"]
    list_filter = ["status"]


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin[Conversion]):
    list_display = ["asp_conversion_id", "asp", "offer", "status", "reward", "occurred_at"]
    list_filter = ["status", "asp"]
    raw_id_fields = ["offer", "end_user"]


@admin.register(PushCampaign)
class PushCampaignAdmin(admin.ModelAdmin[PushCampaign]):
    list_display = ["name", "channel", "status", "scheduled_at", "targeted", "queued"]
    list_filter = ["status", "channel"]
