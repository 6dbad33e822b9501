from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.policies import time_zone_canonical
from debtors.imports.mapping import TARGET_CHOICES, Mapping
from debtors.imports.readers import ImportFileError, check_filename, check_size
from debtors.imports.values import CellError, parse_phone
from debtors.models import DebtorStatus, DispositionKind

REGION_CHOICES = sorted(
    (region, f"{region} (+{phonenumbers.country_code_for_region(region)})")
    for region in phonenumbers.SUPPORTED_REGIONS
)


class DebtorTimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        help_text=_("IANA name, e.g. America/Bogota; blank: the zone of the phone number."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )

    def clean_time_zone(self) -> str:
        value: str = self.cleaned_data["time_zone"]
        zone = time_zone_canonical(value)
        if zone is None:
            raise forms.ValidationError(
                _("“%(zone)s” is not a time zone: write its IANA name, e.g. America/Bogota"),
                params={"zone": value},
            )
        return zone


def _checked_upload(upload: UploadedFile[bytes]) -> UploadedFile[bytes]:
    try:
        check_filename(upload.name or "")
        if upload.size is not None:
            check_size(upload.size)
    except ImportFileError as exc:
        raise forms.ValidationError(str(exc)) from exc
    return upload


class DebtorImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV, XLSX, ODS or XLS file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.ods,.xls"}),
    )
    region = forms.ChoiceField(
        label=_("Country for phones without a country code"),
        choices=REGION_CHOICES,
        initial=lambda: settings.DEFAULT_PHONE_REGION,
    )
    update_existing = forms.BooleanField(
        label=_("Update debtors that already exist (matched by phone)"), required=False
    )

    def clean_file(self) -> UploadedFile[bytes]:
        return _checked_upload(self.cleaned_data["file"])


class DebtorImportMappingForm(forms.Form):
    """One select per column of the file: which debtor field it feeds."""

    update_existing = forms.BooleanField(
        label=_("Update debtors that already exist (matched by phone)"), required=False
    )

    def __init__(self, *args: Any, mapping: Mapping, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = mapping.headers
        for index, (header, target) in enumerate(
            zip(mapping.headers, mapping.targets, strict=True)
        ):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": index + 1},
                choices=TARGET_CHOICES,
                initial=target,
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        targets = [cleaned.get(f"column_{index}", "") for index in range(len(self.headers))]
        problems = Mapping(headers=self.headers, targets=targets).errors()
        if problems:
            raise forms.ValidationError(problems)
        return cleaned

    def mapping(self) -> Mapping:
        return Mapping(
            headers=self.headers,
            targets=[self.cleaned_data[f"column_{index}"] for index in range(len(self.headers))],
        )


class DebtorFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("any status")), *DebtorStatus.choices, ("opted_out", _("opted out"))],
    )
    amount_min = forms.DecimalField(
        required=False, min_value=0, decimal_places=2, label=_("Amount from")
    )
    amount_max = forms.DecimalField(required=False, min_value=0, decimal_places=2, label=_("to"))
    disposition = forms.ChoiceField(
        label=_("Disposition"),
        required=False,
        choices=[
            ("", _("any disposition")),
            ("none", _("none recorded")),
            *DispositionKind.choices,
            ("broken", _("broken promise")),
        ],
    )


class DispositionForm(forms.Form):
    """What came of a conversation; the service checks what each kind needs."""

    kind = forms.ChoiceField(label=_("Outcome"), choices=DispositionKind.choices)
    amount = forms.DecimalField(
        label=_("Amount promised"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    date = forms.DateField(
        label=_("Payment or call-back day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DoNotContactAddForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone"),
        max_length=64,
        help_text=_("With its country code, or a number of the default country"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def clean_phone(self) -> str:
        try:
            return parse_phone(self.cleaned_data["phone"], region=settings.DEFAULT_PHONE_REGION)
        except CellError as exc:
            raise forms.ValidationError(
                _("This is not a phone number: %(error)s."), params={"error": gettext(str(exc))}
            ) from exc


class DoNotContactRemoveForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label=_("Why may this phone be contacted again?"),
        help_text=_(
            "For example: written consent received on 2026-12-01 (kept in the audit trail)"
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DoNotContactImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV, XLSX, ODS or XLS file with a phone column (and optionally a reason column)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.ods,.xls"}),
    )
    region = forms.ChoiceField(
        label=_("Country for phones without a country code"),
        choices=REGION_CHOICES,
        initial=lambda: settings.DEFAULT_PHONE_REGION,
    )

    def clean_file(self) -> UploadedFile[bytes]:
        return _checked_upload(self.cleaned_data["file"])
