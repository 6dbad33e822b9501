from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from debtors.forms import DispositionForm
from debtors.selectors import debtor_dispositions
from inbox import selectors, services
from inbox.models import Conversation
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


@require_POST
def conversation_answer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    conversation = _get_conversation(pk)
    text = request.POST.get("text", "")
    quick = request.POST.get("quick_reply", "")
    if quick.isdigit() and not text.strip():
        quick_reply = get_object_or_404(selectors.quick_reply_list(), pk=int(quick))
        text = selectors.quick_reply_render(quick_reply=quick_reply, conversation=conversation)
    try:
        services.conversation_answer(conversation=conversation, text=text, by=request.user)
    except AnswerRefused as exc:
        messages.error(request, str(exc))
    return redirect("conversation_detail", pk=pk)


@require_POST
def conversation_assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    conversation = _get_conversation(pk)
    action = request.POST.get("action", "")
    try:
        if action == "claim":
            services.conversation_claim(conversation=conversation, by=request.user)
        elif action == "release":
            services.conversation_release(conversation=conversation, by=request.user)
        elif action == "hand_over":
            to = get_object_or_404(User, pk=request.POST.get("to", "0") or 0)
            services.conversation_hand_over(conversation=conversation, to=to, by=request.user)
    except AssignmentConflict as exc:
        messages.error(request, str(exc))
    return redirect("conversation_detail", pk=pk)
