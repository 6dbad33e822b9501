"""What the mapping page shows: the headers, the first rows and the exact row count.

Built once, in the worker, because reading a spreadsheet loads its whole sheet; the web
process only ever reads the stored result.
"""

from pathlib import Path
from typing import Any

from debtors.imports.containers import ContainerError, count_rows
from debtors.imports.mapping import guess_mapping
from debtors.imports.readers import FileInfo, ImportFileError, check_rows, open_table
from debtors.imports.values import cell_text
from debtors.models import ImportFormat

PREVIEW_ROWS = 8


def build_preview(*, path: Path, info: FileInfo, limit: int = PREVIEW_ROWS) -> dict[str, Any]:
    """{"headers", "rows", "rows_total", "mapping"}; raises ImportFileError if unusable."""
    counted = info.rows_total
    if info.format in {ImportFormat.XLSX, ImportFormat.ODS}:
        # The dimension the upload trusted may lie: count the data rows with the streaming
        # counter before the sheet is loaded, and refuse over the cap here.
        try:
            counted = count_rows(str(path), info.format)
        except ContainerError as exc:
            raise ImportFileError(str(exc)) from exc
        check_rows(counted)
    with open_table(path, info) as table:
        rows: list[list[str]] = []
        for _number, cells in table.rows:
            rows.append([cell_text(cell) for cell in cells])
            if len(rows) >= limit:
                break
        headers = table.headers
        # XLS is counted by its loaded sheet (the format holds at most 65,536 rows).
        rows_total = table.rows_total if info.format == ImportFormat.XLS else counted
    check_rows(rows_total)
    width = len(headers)
    return {
        "headers": headers,
        "rows": [(row + [""] * width)[:width] for row in rows],
        "rows_total": rows_total,
        "mapping": guess_mapping(headers).as_json(),
    }
