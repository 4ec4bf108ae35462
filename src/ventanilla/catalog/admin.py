from django.contrib import admin

from ventanilla.catalog.models import (
    Area,
    Channel,
    Institution,
    Office,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "slug", "folio_prefix", "is_active"]
    search_fields = ["name", "short_name", "slug"]
    prepopulated_fields = {"slug": ["short_name"]}


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_assisted", "is_active", "position"]
    list_editable = ["is_active", "position"]


class InstitutionCatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "is_active", "position"]
    list_filter = ["institution", "is_active"]
    list_editable = ["is_active", "position"]
    search_fields = ["name"]


@admin.register(TicketType)
class TicketTypeAdmin(InstitutionCatalogAdmin):
    list_display = [
        "name", "code", "institution", "workflow", "target_hours", "is_active", "position",
    ]


@admin.register(RequesterType)
class RequesterTypeAdmin(InstitutionCatalogAdmin):
    pass


@admin.register(Area)
class AreaAdmin(InstitutionCatalogAdmin):
    list_display = ["name", "institution", "email", "is_active", "position"]


@admin.register(Topic)
class TopicAdmin(InstitutionCatalogAdmin):
    list_display = ["name", "parent", "institution", "default_area", "is_active", "position"]
    autocomplete_fields = ["parent", "default_area"]


@admin.register(Organization)
class OrganizationAdmin(InstitutionCatalogAdmin):
    list_display = ["name", "code", "institution", "region", "comuna", "is_active", "position"]
    list_filter = ["institution", "region", "is_active"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["comuna"]


@admin.register(Office)
class OfficeAdmin(InstitutionCatalogAdmin):
    list_display = ["name", "institution", "comuna", "is_active", "position"]
    search_fields = ["name", "address"]
