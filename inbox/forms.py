from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.templating import TEMPLATE_MAX_CHARS
from inbox.models import QuickReply


class QuickReplyForm(forms.Form):
    """A quick reply's title and text; the service checks the placeholders."""

    title = forms.CharField(
        label=_("Title"), max_length=QuickReply._meta.get_field("title").max_length
    )
    text = forms.CharField(
        label=_("Text"),
        max_length=TEMPLATE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
