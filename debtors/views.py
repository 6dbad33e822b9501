from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from debtors.models import Debtor


def debtor_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    debtors = Debtor.objects.all()
    if search:
        debtors = debtors.filter(
            Q(name__icontains=search) | Q(phone_e164__contains=search) | Q(reference=search)
        )
    page = Paginator(debtors, 50).get_page(request.GET.get("page"))
    return render(request, "debtors/debtor_list.html", {"page": page, "q": search})
