from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import fields
from api.idempotency import idempotent
from api.pagination import PageQuery, keyset_page, page_schema
from api.permissions import require
from api.problems import Conflict, Refused, Unprocessable
from api.serializers import (
    BulkResultSerializer,
    DebtorBulkSerializer,
    DebtorImportSerializer,
    DebtorImportSubmitSerializer,
    DebtorImportUploadSerializer,
    DebtorInSerializer,
    DebtorSerializer,
    DebtorUpdateSerializer,
    DispositionInSerializer,
    DispositionSerializer,
)
from api.views.common import get_or_404, query, valid
from debtors.bulk import BulkRejected, cell_text, debtor_bulk_upsert
from debtors.imports.mapping import Mapping
from debtors.imports.readers import ImportFileError
from debtors.imports.services import debtor_import_create, debtor_import_submit
from debtors.imports.values import parse_phone
from debtors.models import Debtor, DebtorImport, DebtorStatus, DispositionKind, OptOutSource
from debtors.selectors import debtor_dispositions, debtor_import_list, debtor_search
from debtors.services import debtor_disposition_record, debtor_opt_out, debtor_update


class DebtorQuery(PageQuery):
    q = fields.Text(required=False, max_length=200, help_text="Name, reference, phone")
    status = serializers.ChoiceField(choices=DebtorStatus.choices, required=False)
    opted_out = serializers.BooleanField(required=False)
    amount_min = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    amount_max = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    reference = fields.Text(required=False, max_length=100)
    phone = fields.Text(required=False, max_length=20, help_text="E.164")
    disposition = serializers.ChoiceField(
        choices=[*DispositionKind.choices, ("broken", "broken promise"), ("none", "none")],
        required=False,
        help_text="The current disposition's kind, `broken` (a broken promise) or `none`",
    )


def _debtors(filters: dict[str, Any]) -> QuerySet[Debtor]:
    debtors = debtor_search(
        q=filters.get("q") or "",
        status=filters.get("status") or "",
        amount_min=filters.get("amount_min"),
        amount_max=filters.get("amount_max"),
        disposition=filters.get("disposition") or "",
    )
    if filters.get("opted_out") is not None:
        debtors = debtors.filter(opted_out=filters["opted_out"])
    if filters.get("reference"):
        debtors = debtors.filter(reference=filters["reference"])
    if filters.get("phone"):
        debtors = debtors.filter(phone_e164=filters["phone"])
    return debtors


def _rejected(exc: BulkRejected) -> Unprocessable:
    rows = [vars(error) for error in exc.errors]
    return Unprocessable(
        f"{len(rows)} row(s) cannot be taken; nothing was written.", code="rows_rejected", rows=rows
    )


@extend_schema(
    methods=["GET"],
    operation_id="debtors_list",
    parameters=[DebtorQuery],
    responses=page_schema(DebtorSerializer),
)
@extend_schema(
    methods=["POST"],
    request=DebtorInSerializer,
    responses={201: DebtorSerializer, 422: OpenApiResponse(description="Row rejected")},
)
@api_view(["GET", "POST"])
@idempotent
def debtor_list(request: Request) -> Response:
    if request.method == "POST":
        require(request, "debtors.add_debtorimport")
        # Judged as a row of the bulk upsert is: by the import's rules, a bad value answered 422.
        item = request.data
        if not isinstance(item, dict):
            raise serializers.ValidationError({"non_field_errors": ["A debtor object."]})
        try:
            debtor_bulk_upsert(
                rows=[item], region=settings.DEFAULT_PHONE_REGION, update_existing=False
            )
        except ImportFileError as exc:
            raise Refused({"non_field_errors": [str(exc)]}) from exc
        except BulkRejected as exc:
            raise _rejected(exc) from exc
        phone = parse_phone(cell_text(item["phone"], "phone"), region=settings.DEFAULT_PHONE_REGION)
        debtor = Debtor.objects.get(phone_e164=phone)
        return Response(DebtorSerializer(debtor).data, status=status.HTTP_201_CREATED)
    require(request, "debtors.view_debtor")
    return keyset_page(request, _debtors(query(request, DebtorQuery)), DebtorSerializer)


@extend_schema(
    request=DebtorBulkSerializer,
    responses={200: BulkResultSerializer, 422: OpenApiResponse(description="Rows rejected")},
)
@api_view(["POST"])
@idempotent
def debtor_bulk(request: Request) -> Response:
    """Create or update (by phone) up to 10,000 debtors: all of them, or none."""
    require(request, "debtors.add_debtorimport")
    rows = request.data.get("debtors") if isinstance(request.data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise serializers.ValidationError({"debtors": ["A list of debtor objects."]})
    options = valid(DebtorBulkSerializer, {**cast(dict[str, Any], request.data), "debtors": []})
    try:
        counts = debtor_bulk_upsert(
            rows=rows,
            region=options.get("region") or settings.DEFAULT_PHONE_REGION,
            update_existing=options["update_existing"],
        )
    except (ValueError, ImportFileError) as exc:
        raise serializers.ValidationError({"debtors": [str(exc)]}) from exc
    except BulkRejected as exc:
        raise _rejected(exc) from exc
    return Response(
        {"rows_read": counts.rows_read, "imported": counts.imported, "updated": counts.updated}
    )


@extend_schema(methods=["GET"], responses=DebtorSerializer)
@extend_schema(methods=["PATCH"], request=DebtorUpdateSerializer, responses=DebtorSerializer)
@api_view(["GET", "PATCH"])
def debtor_detail(request: Request, pk: int) -> Response:
    debtor = get_or_404(Debtor, pk)
    if request.method == "PATCH":
        require(request, "debtors.change_debtor")
        changes = valid(DebtorUpdateSerializer, request.data)
        if isinstance(changes.get("amount"), Decimal):
            changes["amount"] = changes["amount"].quantize(Decimal("0.01"))
        debtor = debtor_update(debtor=debtor, changes=changes, by=request.user)
    else:
        require(request, "debtors.view_debtor")
    return Response(DebtorSerializer(debtor).data)


@extend_schema(
    methods=["GET"],
    operation_id="debtors_dispositions_list",
    parameters=[PageQuery],
    responses=page_schema(DispositionSerializer),
)
@extend_schema(
    methods=["POST"],
    request=DispositionInSerializer,
    responses={201: DispositionSerializer},
)
@api_view(["GET", "POST"])
@idempotent
def debtor_disposition_list(request: Request, pk: int) -> Response:
    """A debtor's dispositions, oldest first; POST records one (it becomes the current one:
    paid, dispute and wrong number skip the debtor's unsent messages at once)."""
    debtor = get_or_404(Debtor, pk)
    if request.method == "POST":
        require(request, "debtors.add_disposition")
        data = valid(DispositionInSerializer, request.data)
        disposition = debtor_disposition_record(
            debtor=debtor,
            kind=data["kind"],
            amount=data.get("amount"),
            date=data.get("date"),
            note=data.get("note", ""),
            by=request.user,
        )
        return Response(DispositionSerializer(disposition).data, status=status.HTTP_201_CREATED)
    require(request, "debtors.view_disposition")
    return keyset_page(request, debtor_dispositions(debtor=debtor), DispositionSerializer)


@extend_schema(request=None, responses=DebtorSerializer)
@api_view(["POST"])
@idempotent
def debtor_opt_out_view(request: Request, pk: int) -> Response:
    require(request, "debtors.opt_out_debtor")
    debtor = get_or_404(Debtor, pk)
    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk),
        at=timezone.now(),
        source=OptOutSource.API,
        by=request.user,
    )
    debtor.refresh_from_db()
    return Response(DebtorSerializer(debtor).data)


@extend_schema(
    methods=["GET"],
    operation_id="imports_list",
    parameters=[PageQuery],
    responses=page_schema(DebtorImportSerializer),
)
@extend_schema(
    methods=["POST"],
    request={"multipart/form-data": DebtorImportUploadSerializer},
    responses={201: DebtorImportSerializer},
)
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser, JSONParser])
@idempotent
def import_list(request: Request) -> Response:
    require(request, "debtors.add_debtorimport")
    if request.method == "POST":
        data = valid(DebtorImportUploadSerializer, request.data)
        try:
            debtor_import = debtor_import_create(
                upload=data["file"],
                region=data.get("region") or settings.DEFAULT_PHONE_REGION,
                update_existing=data["update_existing"],
                by=request.user,
            )
        except ImportFileError as exc:
            raise Refused({"file": [str(exc)]}) from exc
        return Response(DebtorImportSerializer(debtor_import).data, status=status.HTTP_201_CREATED)
    return keyset_page(request, debtor_import_list(user=request.user), DebtorImportSerializer)


def _import_for(request: Request, pk: int) -> DebtorImport:
    require(request, "debtors.add_debtorimport")
    return get_or_404(debtor_import_list(user=request.user), pk)


@extend_schema(responses=DebtorImportSerializer)
@api_view(["GET"])
def import_detail(request: Request, pk: int) -> Response:
    return Response(DebtorImportSerializer(_import_for(request, pk)).data)


@extend_schema(request=DebtorImportSubmitSerializer, responses={202: DebtorImportSerializer})
@api_view(["POST"])
@idempotent
def import_submit(request: Request, pk: int) -> Response:
    """Confirm the column mapping (the guess, unless `targets` says otherwise) and run it."""
    debtor_import = _import_for(request, pk)
    data = valid(DebtorImportSubmitSerializer, request.data)
    guessed = Mapping.from_json(debtor_import.mapping)
    mapping = Mapping(headers=guessed.headers, targets=data.get("targets") or guessed.targets)
    problems = (
        mapping.errors()
        if len(mapping.targets) == len(mapping.headers)
        else [f"Give one target per column ({len(mapping.headers)})."]
    )
    if problems:
        raise Refused({"targets": problems})
    submitted = debtor_import_submit(
        debtor_import=debtor_import,
        mapping=mapping,
        update_existing=data.get("update_existing", debtor_import.update_existing),
    )
    if not submitted:
        raise Conflict("The import was already submitted.", current_status=debtor_import.status)
    return Response(DebtorImportSerializer(debtor_import).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="The rows not taken")})
@api_view(["GET"])
def import_errors(request: Request, pk: int) -> FileResponse:
    debtor_import = _import_for(request, pk)
    if not debtor_import.error_report:
        raise Http404
    return FileResponse(
        debtor_import.error_report.open("rb"),
        as_attachment=True,
        filename=f"import-{debtor_import.pk}-errors.csv",
        content_type="text/csv",
    )
