"""Turning one messy cell into a clean value, or a reason the operator can act on."""

import datetime
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import phonenumbers

# A cell as a reader yields it: text from CSV, typed values from XLSX.
Cell = str | int | float | bool | datetime.date | datetime.datetime | datetime.time | None

MAX_AMOUNT = Decimal("999999999999.99")  # Debtor.amount: 14 digits, 2 decimal places
EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Serials from 1950 to 2200: wide enough for due dates, narrow enough not to swallow numbers.
EXCEL_SERIAL_RANGE = (18264, 109574)

_SCIENTIFIC = re.compile(r"^\s*\+?(\d+)(?:[.,](\d+))?\s*[eE]\s*\+?(\d+)\s*$")
_FLOAT_PHONE = re.compile(r"^\s*\+?\d+[.,]0+\s*$")
_PHONE_JUNK = re.compile(r"[\s\-.()/\u00a0]")
_AMOUNT_JUNK = re.compile(r"[\s\u00a0\u202f'$€£]|[A-Za-z]{3}$|^[A-Za-z]{3}")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


class CellError(ValueError):
    """A cell that cannot be taken; the message is shown to the operator as the reason."""


def cell_text(value: Cell) -> str:
    """A cell as the text an operator would see in the spreadsheet."""
    if type(value) is str:  # every CSV cell: skip the type checks below
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()


def parse_phone(value: Cell, *, region: str) -> str:
    """E.164 for a phone written any common way; raises CellError when it is not a phone."""
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError("not a phone number")
        value = str(int(value))
    text = cell_text(value)
    if not text:
        raise CellError("phone is blank")
    scientific = _SCIENTIFIC.match(text)
    if scientific:
        whole, fraction, exponent = (
            scientific.group(1),
            scientific.group(2) or "",
            scientific.group(3),
        )
        digits = whole + fraction
        if len(fraction) < int(exponent):
            # 3.00123E+09 is 3001230000: the real last digits are gone, guessing would
            # message the wrong person.
            raise CellError(
                "phone lost its last digits to scientific notation: format the column as text"
            )
        text = digits
    elif _FLOAT_PHONE.match(text):
        text = re.split(r"[.,]", text, maxsplit=1)[0]
    text = _PHONE_JUNK.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d{4,17}", text):
        raise CellError("not a phone number")
    fast = _national_e164(text, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise CellError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise CellError(f"not a valid phone number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _region_rules(region: str) -> tuple[int, re.Pattern[str] | None, re.Pattern[str] | None] | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    idd = metadata.international_prefix
    national_prefix = metadata.national_prefix_for_parsing
    return (
        metadata.country_code,
        re.compile(idd) if idd else None,
        re.compile(national_prefix) if national_prefix else None,
    )


def _national_e164(digits: str, region: str) -> str | None:
    """The common case without phonenumbers.parse (most of an import's time otherwise).

    A national number with no international or national prefix that is already valid as it
    stands is exactly what parse() would return for it; anything else returns None and takes
    the full parse.
    """
    rules = _region_rules(region)
    if rules is None or digits[0] in "+0":
        return None
    country_code, idd, national_prefix = rules
    if (idd and idd.match(digits)) or (national_prefix and national_prefix.match(digits)):
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(digits))
    if not phonenumbers.is_valid_number_for_region(number, region):
        return None
    return f"+{country_code}{digits}"


def parse_amount(value: Cell) -> Decimal:
    """A non-negative amount from `1.234,56`, `1,234.56`, `$ 1 234`, or a numeric cell."""
    if isinstance(value, bool):
        raise CellError("amount is not a number")
    if isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = cell_text(value)
    if not text:
        raise CellError("amount is blank")
    text = _AMOUNT_JUNK.sub("", text)
    if text.startswith("-") or text.endswith("-") or text.startswith("("):
        raise CellError("amount is negative")
    text = text.lstrip("+")
    text = _normalise_separators(text)
    if not re.fullmatch(r"\d+(\.\d+)?([eE][+-]?\d+)?", text):
        raise CellError("amount is not a number")
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise CellError("amount is too large") from exc
    if amount > MAX_AMOUNT:
        raise CellError("amount is too large")
    return amount


def _normalise_separators(text: str) -> str:
    """Decide which of `.` and `,` is the decimal mark; the other groups thousands."""
    if "." in text and "," in text:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        return text.replace(thousands, "").replace(decimal_mark, ".")
    for mark in (".", ","):
        count = text.count(mark)
        if count > 1:
            return text.replace(mark, "")
        if count == 1:
            head, tail = text.split(mark)
            # One mark followed by exactly three digits groups thousands (1.234 and 1,234);
            # otherwise it is the decimal mark (1,5 and 1234.56).
            if len(tail) == 3 and head and not head.startswith("0"):
                return head + tail
            return f"{head}.{tail}"
    return text


def parse_date(value: Cell) -> datetime.date | None:
    """A date from ISO, dd/mm/yyyy, an Excel serial number or a spreadsheet date cell."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_excel_serial(float(value))
    text = cell_text(value)
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        pass
    match = _DMY.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return datetime.date(year, month, day)
        except ValueError as exc:
            raise CellError("not a valid date") from exc
    try:
        serial = float(text)
    except ValueError as exc:
        raise CellError("date not in a known format (yyyy-mm-dd, dd/mm/yyyy)") from exc
    return _from_excel_serial(serial)


def _from_excel_serial(serial: float) -> datetime.date:
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        raise CellError("number is not a plausible Excel date")
    return EXCEL_EPOCH + datetime.timedelta(days=int(serial))


def header_key(header: str) -> str:
    """A header as a placeholder-friendly key: `Ciudad de Residencia` -> `ciudad_de_residencia`."""
    folded = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
