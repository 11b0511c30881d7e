from django.contrib import admin

from . import models

for model in (models.BillingSettings, models.CommissionRule, models.Statement, models.Invoice, models.Newsletter):
    admin.site.register(model)
