from typing import Any

from django import template
from django.http import QueryDict

from whatsmassive.exports import CSV_FORMAT_CHOICES, CSV_FORMAT_PARAMETER, csv_format_choice

register = template.Library()


@register.inclusion_tag("whatsmassive/_csv_export.html", takes_context=True)
def csv_export_form(
    context: template.Context, url: str, query: str = "", label: str = ""
) -> dict[str, Any]:
    """A CSV export's button with the layout choice: `url` with the page's `query` (its
    filters) kept as hidden fields, the user's last choice (or their locale's) preselected."""
    hidden = [
        (name, value)
        for name, values in QueryDict(query).lists()
        if name != CSV_FORMAT_PARAMETER
        for value in values
    ]
    return {
        "url": url,
        "hidden": hidden,
        "label": label,
        "parameter": CSV_FORMAT_PARAMETER,
        "choices": CSV_FORMAT_CHOICES,
        "chosen": csv_format_choice(context["request"]),
    }
