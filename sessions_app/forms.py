"""Operator forms: they parse input; the rules live in the services, which raise
ValidationErrors that the views attach back to these forms."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.boundfield import BoundWidget
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from sessions_app.models import STRATEGY_HELP, PoolStrategy, WhatsAppSession

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class SessionCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Account name"),
        max_length=80,
        help_text=_("How operators tell the accounts apart, e.g. “Collections 1”."),
    )


class SessionPacingForm(forms.Form):
    min_delay_seconds = forms.IntegerField(label=_("Shortest (s)"), min_value=0)
    max_delay_seconds = forms.IntegerField(label=_("Longest (s)"), min_value=0)
    hourly_cap = forms.IntegerField(label=_("Per hour"))
    daily_cap = forms.IntegerField(label=_("Per day"))
    active_from = forms.TimeField(label=_("From"), widget=TIME_WIDGET)
    active_until = forms.TimeField(label=_("Until"), widget=TIME_WIDGET)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    # Not required: a form posted without it keeps the account's budget.
    new_chats_per_day = forms.IntegerField(label=_("New chats a day"), min_value=1, required=False)
    # The form's sections, each with the safe values for a real account.
    groups = [
        (
            _("Delay between messages"),
            ["min_delay_seconds", "max_delay_seconds"],
            _("A random wait in this range. Safe for a real account: 20 to 60 s."),
        ),
        (
            _("Sending limits"),
            ["hourly_cap", "daily_cap"],
            _("Safe for a real account: 60 an hour, 400 a day."),
        ),
        (
            _("Active hours"),
            ["active_from", "active_until", "time_zone"],
            _("Safe: from 08:00 to 19:00. The same time twice means all day."),
        ),
        (
            _("New chats"),
            ["new_chats_per_day"],
            _(
                "First messages a day to numbers this account never wrote to: the sends "
                "WhatsApp watches most. Safe: 30. A newly linked account warms up first."
            ),
        ),
    ]

    def field_groups(self) -> list[tuple[StrOrPromise, list[forms.BoundField], StrOrPromise]]:
        return [(title, [self[name] for name in names], help) for title, names, help in self.groups]

    @classmethod
    def for_session(cls, session: WhatsAppSession) -> "SessionPacingForm":
        return cls(initial={name: getattr(session, name) for name in cls.base_fields})


class PoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(
        label=_("Description"), max_length=255, required=False, help_text=_("Optional.")
    )
    strategy = forms.ChoiceField(
        label=_("How the pool shares out messages"),
        choices=[(value, capfirst(label)) for value, label in PoolStrategy.choices],
        widget=forms.RadioSelect,
        initial=PoolStrategy.COMPETITIVE,
    )

    def strategy_options(self) -> list[tuple[BoundWidget, StrOrPromise]]:
        """Each radio button with its one-line explanation."""
        return [
            (radio, STRATEGY_HELP[PoolStrategy(radio.data["value"])]) for radio in self["strategy"]
        ]


class PoolMemberAddForm(forms.Form):
    session = forms.ModelChoiceField(
        label=_("Account"),
        queryset=WhatsAppSession.objects.none(),
        empty_label=_("Choose an account…"),
        error_messages={
            "invalid_choice": _("That account is already in this pool or no longer exists."),
            "required": _("Choose the account to add."),
        },
    )

    def __init__(self, *args: Any, accounts: QuerySet[WhatsAppSession], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["session"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = accounts


class PoolMemberUpdateForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    weight = forms.IntegerField(label=_("Weight"))


class PoolMemberMoveForm(forms.Form):
    position = forms.IntegerField(min_value=0)
