import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from debtors.imports.engine import ErrorReport, import_file
from debtors.imports.readers import inspect_file

# Made once with LibreOffice from deudores.csv (see the README there).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def write_csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Deudores")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def sheet_xml(rows: int, *, dimension: str | None, empty_rows: int = 0) -> str:
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>'
        for n in range(1, rows + 1)
    )
    empty = "".join(
        f'<row r="{n}" s="1" customFormat="1"/>' for n in range(rows + 1, rows + 1 + empty_rows)
    )
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{head}<sheetData>{body}{empty}</sheetData></worksheet>"
    )


def write_sheet(path, xml: str):
    """A minimal XLSX around one hand-written sheet part."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    package = "application/vnd.openxmlformats-package"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Default Extension="rels" ContentType="{package}.relationships+xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml"'
            f' ContentType="{office}.worksheet+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Deudores" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/worksheets/sheet1.xml", xml)
    return path


class ImportRun:
    def __init__(self, counts, report_text: str) -> None:
        self.counts = counts
        self.report = list(csv.DictReader(io.StringIO(report_text)))

    def reasons(self) -> dict[int, str]:
        return {int(line["row"]): line["reason"] for line in self.report}


@pytest.fixture
def run_import():
    def run(path: Path, *, region: str = "CO", update_existing: bool = False, **options):
        buffer = io.StringIO()
        counts = import_file(
            path=path,
            info=inspect_file(path),
            mapping=None,
            region=region,
            update_existing=update_existing,
            report=ErrorReport(buffer),
            **options,
        )
        return ImportRun(counts, buffer.getvalue())

    return run
