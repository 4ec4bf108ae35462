from django import template

from ventanilla.operations.selectors import cause_labels, format_duration

register = template.Library()


@register.filter
def duration(value) -> str:
    return format_duration(value)


@register.filter
def causes(value) -> str:
    return cause_labels(value)
