import re
from typing import Any

import holidays.registry
from django import forms
from django.conf import settings
from django.db import models
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignLocale, ContactPolicy, DateStyle
from campaigns.policies import (
    WEEKDAY_LABELS,
    WindowsError,
    day_ranges_check,
    windows_format,
    windows_parse,
)
from campaigns.templating import (
    MAX_VARIANTS,
    TEMPLATE_MAX_CHARS,
    TemplateError,
    template_check,
)
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


class VariantsWidget(forms.Widget):
    """Any number of `<textarea name="variants">`: the page draws them (one per variant)."""

    def value_from_datadict(
        self, data: Any, files: MultiValueDict[str, Any], name: str
    ) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
        return [str(value) for value in values]

    def value_omitted_from_data(
        self, data: Any, files: MultiValueDict[str, Any], name: str
    ) -> bool:
        return name not in data


class VariantsField(forms.Field):
    """Texts besides the main one; blank ones are dropped."""

    widget = VariantsWidget

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return [str(text) for text in value if str(text).strip()]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    pool = forms.ModelChoiceField(
        queryset=Pool.objects.order_by("name"),
        label=_("Pool"),
        empty_label=None,
        help_text=_("Its accounts send the messages."),
    )
    policy = forms.ModelChoiceField(
        label=_("Contact policy"),
        queryset=ContactPolicy.objects.order_by("name"),
        empty_label=None,
        # Left out of a form post (an older client): the default, or the draft's own.
        required=False,
        help_text=_("When and how often its debtors may be written to."),
    )
    template = forms.CharField(
        label=_("Message text"),
        max_length=TEMPLATE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "class": "template-editor"}),
    )
    variants = VariantsField(
        label=_("Other variants"),
        required=False,
        help_text=_("Each debtor gets one of the texts, so the messages differ from one another."),
    )
    locale = forms.ChoiceField(
        label=_("Amounts and dates as written in"),
        choices=CampaignLocale.choices,
        required=False,
        initial=CampaignLocale.ES_CO,
    )
    date_style = forms.ChoiceField(
        label=_("Date style"),
        choices=DateStyle.choices,
        required=False,
        initial=DateStyle.SHORT,
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
            "policy": campaign.policy_id,
            "template": campaign.template,
            "variants": campaign.variants,
            "locale": campaign.locale,
            "date_style": campaign.date_style,
            **{key: audience[key] for key in AUDIENCE_FIELDS if key in audience},
        }

    def clean_template(self) -> str:
        template: str = self.cleaned_data["template"]
        try:
            template_check(template)
        except TemplateError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return template

    def clean_variants(self) -> list[str]:
        variants: list[str] = self.cleaned_data["variants"]
        if 1 + len(variants) > MAX_VARIANTS:
            raise forms.ValidationError(
                gettext("A campaign may have at most %(limit)s variants of its message.")
                % {"limit": MAX_VARIANTS}
            )
        errors = []
        # The main text is variant 1.
        for number, text in enumerate(variants, start=2):
            try:
                template_check(text)
            except TemplateError as exc:
                errors.append(
                    gettext("Variant %(number)s: %(error)s") % {"number": number, "error": exc}
                )
        if errors:
            raise forms.ValidationError(errors)
        return variants

    def clean_locale(self) -> str:
        return self.cleaned_data["locale"] or CampaignLocale.ES_CO

    def clean_date_style(self) -> str:
        return self.cleaned_data["date_style"] or DateStyle.SHORT

    def typed_variants(self) -> list[str]:
        """The other variants as typed (valid or not), for the page and the preview."""
        if self.is_bound:
            return VariantsField().to_python(self["variants"].data)
        return list(self.get_initial_for_field(self.fields["variants"], "variants") or [])

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
        pool = self._chosen(Pool, values.get("pool"))
        if pool is None:
            return None
        policy = self._chosen(ContactPolicy, values.get("policy"))
        return Campaign(
            name=values.get("name") or "",
            # As typed: a text with an error is what the preview's problems are about.
            template=self["template"].value() or "",
            variants=self.typed_variants(),
            locale=values.get("locale") or CampaignLocale.ES_CO,
            date_style=values.get("date_style") or DateStyle.SHORT,
            pool=pool,
            audience=self.audience(),
            # None chosen: the model's default, the default policy.
            **({"policy": policy} if policy is not None else {}),
        )

    @staticmethod
    def _chosen[M: models.Model](model: type[M], value: object) -> M | None:
        """The row a choice names, as cleaned (the object) or as typed (its id)."""
        if isinstance(value, model):
            return value
        if isinstance(value, int | str) and str(value).isdigit():
            return model._default_manager.filter(pk=value).first()
        return None

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


def _country_name(class_name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)


def holiday_country_choices() -> list[tuple[str, str]]:
    """The countries whose public holidays are known, by name; blank for none."""
    countries = sorted(
        (_country_name(names[0]), names[1]) for names in holidays.registry.COUNTRIES.values()
    )
    return [("", str(_("No holidays"))), *((code, f"{name} ({code})") for name, code in countries)]


def _weekday_field(weekday: int) -> str:
    return f"windows_{weekday}"


class ContactPolicyForm(forms.ModelForm[ContactPolicy]):
    """A policy as operators write it: one line of ranges per weekday ("07:00-12:00,
    14:00-19:00"), checked by the same rules as the model's. The default is changed on its
    own (there is always exactly one)."""

    holiday_country = forms.ChoiceField(
        label=_("Holidays of"),
        required=False,
        choices=holiday_country_choices,
        help_text=_("Closed all day on this country's public holidays, in the debtor's date."),
    )

    class Meta:
        model = ContactPolicy
        fields = [
            "name",
            "description",
            "holiday_country",
            "max_per_day",
            "max_per_period",
            "period_days",
            "opt_out_mode",
            "opt_out_instruction",
            "opt_out_confirmation",
        ]
        labels = {
            "name": _("Name"),
            "description": _("Legal source"),
            "max_per_day": _("At most per local day"),
            "max_per_period": _("At most per period"),
            "period_days": _("Period in days"),
            "opt_out_mode": _("Opt-out instruction"),
            "opt_out_instruction": _("Opt-out instruction text"),
            "opt_out_confirmation": _("Confirmation text"),
        }
        help_texts = {
            "description": _("The law or rule the windows and caps come from."),
            "max_per_day": _("Messages per debtor per day, across every campaign; blank: no cap."),
            "max_per_period": _("Messages per debtor within the period; blank: no cap."),
            "period_days": _("Local days, today included."),
            "opt_out_instruction": _("How a debtor stops the messages, e.g. “Reply STOP…”."),
            "opt_out_confirmation": _(
                "Sent once, by the same account, after a debtor opts out; blank: none."
            ),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for weekday, label in enumerate(WEEKDAY_LABELS):
            self.fields[_weekday_field(weekday)] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                initial=windows_format(self.instance.windows[weekday]),
                help_text=_("Blank: closed all day.") if weekday == 0 else "",
                widget=forms.TextInput(attrs={"placeholder": _("closed")}),
            )

    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[_weekday_field(weekday)] for weekday in range(len(WEEKDAY_LABELS))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        windows = []
        for weekday in range(len(WEEKDAY_LABELS)):
            name = _weekday_field(weekday)
            try:
                windows.append(day_ranges_check(weekday, windows_parse(cleaned.get(name, ""))))
            except WindowsError as exc:
                self.add_error(name, str(exc))
        if len(windows) == len(WEEKDAY_LABELS):
            self.instance.windows = windows
        # The model's check lets a blank period through (NULL passes a CHECK in SQL).
        if cleaned.get("max_per_period") and not cleaned.get("period_days"):
            self.add_error("period_days", _("A cap over a period needs the period's days."))
        return cleaned
