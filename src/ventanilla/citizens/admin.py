from django.contrib import admin

from ventanilla.citizens.models import ChannelIdentity, Citizen


class ChannelIdentityInline(admin.TabularInline):
    model = ChannelIdentity
    extra = 0


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    list_display = ["full_name", "rut_display", "email", "phone", "created_at"]
    search_fields = ["full_name", "rut", "email", "phone"]
    inlines = [ChannelIdentityInline]
    raw_id_fields = ["user"]
