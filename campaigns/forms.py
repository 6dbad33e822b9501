from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.templating import TEMPLATE_MAX_CHARS, TemplateError, template_check
from debtors.models import DebtorStatus
from sessions_app.models import Pool

# Form fields that make up `Campaign.audience` (see campaigns.audience.audience_debtors).
AUDIENCE_FIELDS = (
    "status",
    "amount_min",
    "amount_max",
    "due_from",
    "due_to",
    "search",
    "include_closed",
    "recent_days",
    "include_recent",
)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    pool = forms.ModelChoiceField(
        queryset=Pool.objects.order_by("name"),
        label=_("Pool"),
        empty_label=None,
        help_text=_("Its accounts send the messages."),
    )
    template = forms.CharField(
        label=_("Message text"),
        max_length=TEMPLATE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "class": "template-editor"}),
    )
    status = forms.MultipleChoiceField(
        label=_("Debtor status"),
        choices=DebtorStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every status."),
    )
    amount_min = forms.DecimalField(
        label=_("Amount from"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    amount_max = forms.DecimalField(
        label=_("Amount to"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    due_from = forms.DateField(
        label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        label=_("Due to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    search = forms.CharField(label=_("Name or reference contains"), required=False, max_length=100)
    include_closed = forms.BooleanField(
        label=_("Include paid, disputed and wrong-number debtors"),
        required=False,
        help_text=_("Left out unless ticked here or under Debtor status."),
    )
    recent_days = forms.IntegerField(
        label=_("Recently contacted: within days"),
        min_value=0,
        max_value=365,
        required=False,
        initial=lambda: settings.CAMPAIGN_RECONTACT_DAYS,
        help_text=_("Debtors sent a message within this many days are left out; 0 for none."),
    )
    include_recent = forms.BooleanField(
        label=_("Include recently contacted debtors"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        """The form's initial values for an existing campaign."""
        audience = campaign.audience or {}
        return {
            "name": campaign.name,
            "pool": campaign.pool_id,
            "template": campaign.template,
            **{key: audience[key] for key in AUDIENCE_FIELDS if key in audience},
        }

    def clean_template(self) -> str:
        template: str = self.cleaned_data["template"]
        try:
            template_check(template)
        except TemplateError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return template

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("Must be at least the “amount from”."))
        start, end = cleaned.get("due_from"), cleaned.get("due_to")
        if start and end and start > end:
            self.add_error("due_to", _("Must be on or after the “due from” date."))
        return cleaned

    def _values(self) -> dict[str, Any]:
        if self.is_bound:
            self.is_valid()
            return self.cleaned_data
        fields = self.fields.items()
        return {name: self.get_initial_for_field(field, name) for name, field in fields}

    def audience(self) -> dict[str, object]:
        """The audience filter as stored on the campaign (JSON: decimals and dates as text)."""
        values = self._values()
        audience: dict[str, object] = {}
        for key in AUDIENCE_FIELDS:
            value = values.get(key)
            # An unticked box and an empty field are not stored; 0 days is.
            if value is None or value is False or value in ("", []):
                continue
            if key == "status":
                audience[key] = list(value)
            elif isinstance(value, bool | int):
                audience[key] = value
            else:
                audience[key] = str(value)
        return audience

    def campaign_for_preview(self) -> Campaign | None:
        """An unsaved campaign from what was typed so far, or None without a usable pool."""
        values = self._values()
        pool = values.get("pool")
        if isinstance(pool, int | str):
            pool = Pool.objects.filter(pk=pool).first()
        if not isinstance(pool, Pool):
            return None
        return Campaign(
            name=values.get("name") or "",
            template=values.get("template") or "",
            pool=pool,
            audience=self.audience(),
        )

    def audience_errors(self) -> list[str]:
        """Errors that make the count and preview ignore part of the filter."""
        if not self.is_bound:
            return []
        return [
            f"{self.fields[name].label}: {error}" if name in self.fields else str(error)
            for name, errors in self.errors.items()
            if name in AUDIENCE_FIELDS or name == "__all__"
            for error in errors
        ]
