from django.contrib import admin

from .models import Booking


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin[Booking]):
    list_display = ["external_id", "provider", "plan", "scheduled_at", "amount", "status"]
    list_filter = ["status", "tax_rate"]
    raw_id_fields = ["provider", "end_user"]
