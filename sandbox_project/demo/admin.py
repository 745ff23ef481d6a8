from django.contrib import admin

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "tier", "flags")
    list_filter = ("tier",)
    list_select_related = ("user",)
