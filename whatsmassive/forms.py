import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from debtors.imports.values import CellError, parse_phone
from sessions_app.models import WhatsAppSession
from whatsmassive.models import AuditKind


class AuditFilterForm(forms.Form):
    phone = forms.CharField(required=False, max_length=64, label=_("Debtor phone"))
    account = forms.ModelChoiceField(
        queryset=WhatsAppSession.objects.order_by("name"),
        required=False,
        empty_label=_("any"),
        label=_("Account"),
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("-id"),
        required=False,
        empty_label=_("any"),
        label=_("Campaign"),
    )
    kind = forms.ChoiceField(
        choices=[("", _("any")), *AuditKind.choices], required=False, label=_("What")
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text=_("inclusive")
    )

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"].strip()
        if not phone:
            return ""
        try:
            return parse_phone(phone, region=settings.DEFAULT_PHONE_REGION)
        except CellError as exc:
            raise forms.ValidationError(
                _("This is not a phone number: %(error)s."), params={"error": exc}
            ) from exc

    def filters(self) -> dict[str, Any]:
        """The search as `audit_search` takes it; the days are local, `until` inclusive."""
        data = self.cleaned_data

        def start(day: datetime.date) -> datetime.datetime:
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

        return {
            "phone_e164": data.get("phone") or "",
            "session": data.get("account"),
            "campaign": data.get("campaign"),
            "kind": data.get("kind") or "",
            "since": start(data["since"]) if data.get("since") else None,
            "until": start(data["until"] + datetime.timedelta(days=1))
            if data.get("until")
            else None,
        }


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The language of your pages, on every device you sign in from."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields["language"]
        assert isinstance(language, forms.ChoiceField)
        language.choices = [("", _("The browser's language")), *settings.LANGUAGES]
