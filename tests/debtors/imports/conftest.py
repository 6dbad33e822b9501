import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from debtors.imports.engine import ErrorReport, import_file
from debtors.imports.readers import inspect_file


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
