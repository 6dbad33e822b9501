from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.templating import BASE_PLACEHOLDERS
from debtors.forms import DispositionForm
from debtors.selectors import debtor_dispositions
from inbox import selectors, services
from inbox.forms import QuickReplyForm
from inbox.models import Conversation, QuickReply
from inbox.services import AnswerRefused, AssignmentConflict
from whatsmassive.htmx import HtmxHttpRequest

VIEW = "inbox.view_conversation"
PER_PAGE = 50


def _get_conversation(pk: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("debtor", "assigned_to", "last_session"), pk=pk
    )


def _filters(request: HttpRequest) -> selectors.InboxFilters:
    def number(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None

    assigned = request.GET.get("assigned", "")
    return selectors.InboxFilters(
        assigned=assigned if assigned in {"mine", "unassigned"} else "",
        campaign_id=number("campaign"),
        session_id=number("account"),
        opted_out=request.GET.get("opted_out") == "1",
        q=request.GET.get("q", "")[:100],
    )


@permission_required(VIEW, raise_exception=True)
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    filters = _filters(request)
    conversations = selectors.conversation_list(user=request.user, filters=filters)
    page = Paginator(conversations, PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters}
    template = "inbox/inbox.html#list" if request.htmx else "inbox/inbox.html"
    return render(request, template, context)


@permission_required(VIEW, raise_exception=True)
def inbox_unread(request: HttpRequest) -> HttpResponse:
    unread = selectors.inbox_unread_count(user=request.user)
    return render(request, "inbox/_unread.html#badge", {"unread": unread})


def _conversation_context(conversation: Conversation) -> dict[str, object]:
    return {
        "conversation": conversation,
        "thread": selectors.conversation_thread(conversation=conversation),
        "sticky": selectors.conversation_sticky_session(conversation=conversation),
        "quick_replies": selectors.quick_reply_list(),
        "operators": selectors.conversation_operators(),
    }


@permission_required(VIEW, raise_exception=True)
def conversation_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    conversation = _get_conversation(pk)
    if request.htmx:
        part = (
            request.GET.get("part")
            if request.GET.get("part") in {"thread", "assignment"}
            else "thread"
        )
        return render(
            request, f"inbox/conversation_detail.html#{part}", _conversation_context(conversation)
        )
    services.conversation_mark_seen(conversation=conversation, by=request.user)
    # The whole page also records what came of it (debtors/_dispositions.html); the parts
    # its polls fetch do not need that.
    context = {
        **_conversation_context(conversation),
        "debtor": conversation.debtor,
        "dispositions": debtor_dispositions(debtor=conversation.debtor),
        "disposition_form": DispositionForm(),
    }
    return render(request, "inbox/conversation_detail.html", context)


def _answer_text(request: HttpRequest, conversation: Conversation) -> str:
    """The answer typed, else the quick reply picked, filled in for the debtor."""
    text = request.POST.get("text", "")
    quick = request.POST.get("quick_reply", "")
    if quick.isdigit() and not text.strip():
        quick_reply = get_object_or_404(selectors.quick_reply_list(), pk=int(quick))
        text = selectors.quick_reply_render(quick_reply=quick_reply, conversation=conversation)
    return text


@require_POST
def conversation_answer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    conversation = _get_conversation(pk)
    text = _answer_text(request, conversation)
    error = ""
    try:
        services.conversation_answer(conversation=conversation, text=text, by=request.user)
    except AnswerRefused as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("conversation_detail", pk=pk)
    # The thread follows over the conversation's socket (and its poll); the box is emptied,
    # or keeps what was written beside the reason it was not sent.
    context = {
        **_conversation_context(conversation),
        "answer_error": error,
        "answer_text": text if error else "",
        "answer_queued": not error,
    }
    return render(request, "inbox/conversation_detail.html#answer", context)


@permission_required(VIEW, raise_exception=True)
def conversation_quick_reply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The answer box holding the quick reply picked, filled in for this debtor."""
    conversation = _get_conversation(pk)
    quick = request.GET.get("quick_reply", "")
    text = ""
    if quick.isdigit():
        quick_reply = get_object_or_404(selectors.quick_reply_list(), pk=int(quick))
        text = selectors.quick_reply_render(quick_reply=quick_reply, conversation=conversation)
    return render(request, "inbox/conversation_detail.html#answer_text", {"answer_text": text})


@require_POST
def conversation_assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    conversation = _get_conversation(pk)
    action = request.POST.get("action", "")
    error = ""
    try:
        if action == "claim":
            services.conversation_claim(conversation=conversation, by=request.user)
        elif action == "release":
            services.conversation_release(conversation=conversation, by=request.user)
        elif action == "hand_over":
            to = get_object_or_404(User, pk=request.POST.get("to", "0") or 0)
            services.conversation_hand_over(conversation=conversation, to=to, by=request.user)
    except AssignmentConflict as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("conversation_detail", pk=pk)
    context = {**_conversation_context(_get_conversation(pk)), "assignment_error": error}
    return render(request, "inbox/conversation_detail.html#assignment", context)


def _quick_replies_page(
    request: HttpRequest, form: QuickReplyForm, editing: QuickReply | None, status: int = 200
) -> HttpResponse:
    context = {
        "quick_replies": selectors.quick_reply_list(),
        "form": form,
        "editing": editing,
        "base_placeholders": BASE_PLACEHOLDERS,
    }
    return render(request, "inbox/quick_replies.html", context, status=status)


def _saved(request: HttpRequest, form: QuickReplyForm, quick_reply: QuickReply | None) -> bool:
    """Create or update from a valid form; the service's refusal becomes the form's error."""
    if not form.is_valid():
        return False
    title, text = form.cleaned_data["title"], form.cleaned_data["text"]
    try:
        if quick_reply is None:
            services.quick_reply_create(title=title, text=text, by=request.user)
        else:
            services.quick_reply_update(
                quick_reply=quick_reply, title=title, text=text, by=request.user
            )
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    return True


@permission_required("inbox.view_quickreply", raise_exception=True)
def quick_reply_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = QuickReplyForm(request.POST)
        if _saved(request, form, None):
            messages.success(request, _("Quick reply saved."))
            return redirect("quick_reply_list")
        return _quick_replies_page(request, form, None, status=400)
    return _quick_replies_page(request, QuickReplyForm(), None)


@permission_required("inbox.change_quickreply", raise_exception=True)
def quick_reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quick_reply = get_object_or_404(selectors.quick_reply_list(), pk=pk)
    if request.method == "POST":
        form = QuickReplyForm(request.POST)
        if _saved(request, form, quick_reply):
            messages.success(request, _("Quick reply saved."))
            return redirect("quick_reply_list")
        return _quick_replies_page(request, form, quick_reply, status=400)
    initial = {"title": quick_reply.title, "text": quick_reply.text}
    return _quick_replies_page(request, QuickReplyForm(initial=initial), quick_reply)


@require_POST
def quick_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    quick_reply = get_object_or_404(selectors.quick_reply_list(), pk=pk)
    services.quick_reply_delete(quick_reply=quick_reply, by=request.user)
    messages.success(request, _("Quick reply “%(title)s” deleted.") % {"title": quick_reply.title})
    return redirect("quick_reply_list")
