"""Turning one messy cell into a clean value, or a reason the operator can act on."""

import datetime
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from django.utils.translation import gettext_noop

# A cell as a reader yields it: text from CSV, typed values from spreadsheets.
Cell = (
    str
    | int
    | float
    | bool
    | datetime.date
    | datetime.datetime
    | datetime.time
    | datetime.timedelta
    | None
)

MAX_AMOUNT = Decimal("999999999999.99")  # Debtor.amount: 14 digits, 2 decimal places
CENTS = Decimal("0.01")
EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Serials from 1950 to 2200: wide enough for due dates, narrow enough not to swallow numbers.
EXCEL_SERIAL_RANGE = (18264, 109574)
# Distinct phone texts remembered per process: repeats (the same debtor on several rows, a
# file imported again) skip the parse.
PHONE_CACHE_SIZE = 65536

_SCIENTIFIC = re.compile(r"^\s*\+?(\d+)(?:[.,](\d+))?\s*[eE]\s*\+?(\d+)\s*$")
_FLOAT_PHONE = re.compile(r"^\s*\+?\d+[.,]0+\s*$")
_PHONE_JUNK = re.compile(r"[\s\-.()/\u00a0]")
_PHONE_SHAPE = re.compile(r"\+?\d{4,17}")
_MEXICO_OLD_MOBILE = "+521"
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")

# An amount cell: an optional sign, currency code or symbol and parentheses around one number.
_AMOUNT = re.compile(
    r"(?P<open>\()?\s*(?P<sign1>[-+])?\s*(?P<code1>[A-Za-z]{3})?\s*"
    r"(?P<symbol1>US\$|COL\$|R\$|S/|[$€£])?\s*(?P<sign2>[-+])?\s*"
    r"(?P<number>[0-9][0-9.,' \u00a0\u202f]*?)"
    r"\s*(?P<sign3>-)?\s*(?P<symbol2>[$€£])?\s*(?P<code2>[A-Za-z]{3})?\s*(?P<close>\))?"
)
# 1234 · 1234,5 · 0.75
_PLAIN_NUMBER = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
# 1.234 · 1,234.56 · 1 234 567,89 · 1'234.50: groups of three after a first group of 1-3.
_GROUPED_NUMBER = re.compile(
    r"([1-9][0-9]{0,2})((?P<sep>[., \u00a0\u202f'])[0-9]{3}(?:(?P=sep)[0-9]{3})*)"
    r"(?:(?P<mark>[.,])([0-9]+))?"
)
# Codes an amount may carry (`COP 150.000`, `150 USD`): the currencies of the regions served
# and the common reserve ones. Any other three letters make the cell not a number.
CURRENCY_CODES = frozenset(
    [
        "ARS",
        "BOB",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "DOP",
        "EUR",
        "GBP",
        "GTQ",
        "HNL",
        "JPY",
        "MXN",
        "NIO",
        "PAB",
        "PEN",
        "PYG",
        "USD",
        "UYU",
        "VES",
    ]
)


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
            raise CellError(gettext_noop("not a phone number"))
        value = str(int(value))
    result = _phone_from_text(value if type(value) is str else cell_text(value), region)
    if result[0] != "+":
        raise CellError(result)
    return result


@functools.lru_cache(maxsize=PHONE_CACHE_SIZE)
def _phone_from_text(raw: str, region: str) -> str:
    """E.164, or the reason the text is not a phone (a reason never starts with `+`)."""
    text = raw.strip()
    if not text:
        return gettext_noop("phone is blank")
    if text[:4].lower() == "tel:":
        text = _tel_uri_number(text[4:])
    scientific = _SCIENTIFIC.match(text)
    if scientific:
        whole, fraction, exponent = (
            scientific.group(1),
            scientific.group(2) or "",
            scientific.group(3),
        )
        if len(fraction) < int(exponent):
            # 3.00123E+09 is 3001230000: the real last digits are gone, guessing would
            # message the wrong person.
            return gettext_noop(
                "phone lost its last digits to scientific notation: format the column as text"
            )
        text = whole + fraction
    elif _FLOAT_PHONE.match(text):
        text = re.split(r"[.,]", text, maxsplit=1)[0]
    text = _PHONE_JUNK.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if len(text) == 14 and text.startswith(_MEXICO_OLD_MOBILE):
        # Mexico dropped the mobile `1` after +52 in 2019; CRMs and vCards still write it.
        text = "+52" + text[4:]
    if not _PHONE_SHAPE.fullmatch(text):
        return gettext_noop("not a phone number")
    fast = _region_e164(text, region) if text.isascii() else None
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return gettext_noop("not a phone number")
    if not phonenumbers.is_valid_number(number):
        return f"not a valid phone number for region {region}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _tel_uri_number(body: str) -> str:
    """The number of an RFC 3966 `tel:` URI, its visual separators kept for the caller to drop.

    `;ext=` and the other parameters are not part of the number; a local number takes a
    numeric `phone-context` (`tel:7042;phone-context=+1201`) as its prefix.
    """
    number, *parameters = body.split(";")
    if number.startswith("+"):
        return number
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "phone-context" and value.startswith("+"):
            return value + number
    return number


@dataclass(frozen=True)
class _RegionRules:
    country_code: str
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    general: re.Pattern[str]
    is_valid: Callable[[str], bool]
    # Only the main region of a shared calling code (US for +1) may read the code itself:
    # phonenumbers picks the region of a +1 number among all of them.
    reads_country_code: bool


@functools.cache
def _region_rules(region: str) -> _RegionRules | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    general = metadata.general_desc
    if general is None or not general.national_number_pattern:
        return None
    idd = metadata.international_prefix
    national_prefix = metadata.national_prefix_for_parsing
    return _RegionRules(
        country_code=str(metadata.country_code),
        idd=re.compile(idd) if idd else None,
        national_prefix=re.compile(national_prefix) if national_prefix else None,
        general=re.compile(general.national_number_pattern),
        is_valid=_validator(metadata, general),
        reads_country_code=(
            phonenumbers.region_code_for_country_code(metadata.country_code) == region
        ),
    )


def _validator(
    metadata: phonenumbers.PhoneMetadata, general: phonenumbers.PhoneNumberDesc
) -> Callable[[str], bool]:
    """phonenumbers.is_valid_number_for_region for a national number, without a PhoneNumber.

    Valid means: the general pattern matches, then any number type's (its possible lengths
    first, as phonenumbers checks them), mobile only when it differs from fixed line. The
    type patterns a length allows are joined into one alternation: a full match of the
    alternation is a full match of one of them.
    """
    types = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    general_match = re.compile(general.national_number_pattern or "").fullmatch
    by_length: dict[int, Callable[[str], re.Match[str] | None]] = {}
    for length in range(1, 18):
        if general.possible_length and length not in general.possible_length:
            continue
        patterns = [
            desc.national_number_pattern
            for desc in types
            if desc is not None
            and desc.national_number_pattern
            and (not desc.possible_length or length in desc.possible_length)
        ]
        if patterns:
            by_length[length] = re.compile("|".join(f"(?:{p})" for p in patterns)).fullmatch

    def is_valid(number: str) -> bool:
        type_match = by_length.get(len(number))
        return (
            type_match is not None
            and general_match(number) is not None
            and type_match(number) is not None
        )

    return is_valid


def _strips_prefix(pattern: re.Pattern[str] | None, digits: str) -> bool:
    """Whether phonenumbers could strip a national prefix from `digits` (an empty match of a
    pattern like Argentina's, with no group taken, strips nothing)."""
    if pattern is None:
        return False
    match = pattern.match(digits)
    return match is not None and (
        match.end() > 0 or any(group is not None for group in match.groups())
    )


def _region_e164(text: str, region: str) -> str | None:
    """The region's own shapes without phonenumbers.parse (most of an import's time otherwise).

    National (`3001234567`), with the calling code (`+573001234567`) and with the calling code
    but no plus (`573001234567`): when the national part carries no prefix and is valid as it
    stands, it is exactly what parse() would return. Anything else returns None and takes the
    full parse.
    """
    rules = _region_rules(region)
    if rules is None:
        return None
    code = rules.country_code
    if text[0] == "+":
        if rules.reads_country_code and text.startswith(code, 1):
            return _national_e164(rules, text[1 + len(code) :])
        return None
    if rules.idd is not None and rules.idd.match(text):
        return None
    national = _national_e164(rules, text)
    if national is not None:
        return national
    # phonenumbers reads a leading calling code only when the whole does not fit the
    # region's general pattern.
    if rules.reads_country_code and text.startswith(code) and rules.general.fullmatch(text) is None:
        return _national_e164(rules, text[len(code) :])
    return None


def _national_e164(rules: _RegionRules, digits: str) -> str | None:
    if (
        not digits
        or digits[0] == "0"
        or _strips_prefix(rules.national_prefix, digits)
        or not rules.is_valid(digits)
    ):
        return None
    return f"+{rules.country_code}{digits}"


def parse_amount(value: Cell) -> tuple[Decimal, str | None]:
    """A non-negative amount and the currency code written with it, if any.

    Text must be wholly one number in a known local format (`1.234,56`, `1,234.56`,
    `$ 1 234`, `COP 150.000`) and exact to the cent; anything else is refused rather than
    guessed. Numeric spreadsheet cells are rounded to the cent, as the sheet shows them.
    """
    if isinstance(value, bool):
        raise CellError(gettext_noop("amount is not a number"))
    if isinstance(value, (int, float)):
        return _checked_amount(_numeric_amount(value)), None
    text = cell_text(value)
    if not text:
        raise CellError(gettext_noop("amount is blank"))
    if text[0].isdigit() and text[-1].isdigit():
        # The common cell, a bare number: the number's own grammar decides, no sign or code.
        return _checked_amount(_number(text)), None
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise CellError(gettext_noop("amount is not a number"))
    parts = match.groupdict()
    signs = [parts[name] for name in ("sign1", "sign2", "sign3") if parts[name]]
    codes = [parts[name].upper() for name in ("code1", "code2") if parts[name]]
    symbols = [parts[name] for name in ("symbol1", "symbol2") if parts[name]]
    if (
        len(signs) > 1
        or len(codes) > 1
        or len(symbols) > 1
        or bool(parts["open"]) != bool(parts["close"])
        or any(code not in CURRENCY_CODES for code in codes)
    ):
        raise CellError(gettext_noop("amount is not a number"))
    amount = _number(parts["number"])
    if parts["open"] or "-" in signs:
        raise CellError(gettext_noop("amount is negative"))
    return _checked_amount(amount), codes[0] if codes else None


def _numeric_amount(value: int | float) -> Decimal:
    amount = Decimal(repr(value) if isinstance(value, float) else value)
    if not amount.is_finite():
        raise CellError(gettext_noop("amount is not a number"))
    try:
        rounded = amount.quantize(CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise CellError(gettext_noop("amount is too large")) from exc
    if amount < 0:
        raise CellError(gettext_noop("amount is negative"))
    return rounded


def _number(text: str) -> Decimal:
    """One number; the decimal mark is whichever of `.` and `,` does not group thousands."""
    grouped = _GROUPED_NUMBER.fullmatch(text)
    if grouped is not None:
        head, groups, separator, mark, fraction = grouped.group(1, 2, "sep", "mark", 5)
        if mark == separator:
            raise CellError(gettext_noop("amount is not a number"))
        digits = head + groups.replace(separator, "")
        return _exact_cents(f"{digits}.{fraction}" if mark else digits)
    plain = _PLAIN_NUMBER.fullmatch(text)
    if plain is None:
        raise CellError(gettext_noop("amount is not a number"))
    whole, fraction = plain.groups()
    return _exact_cents(f"{whole}.{fraction}" if fraction else whole)


def _exact_cents(text: str) -> Decimal:
    amount = Decimal(text)
    try:
        cents = amount.quantize(CENTS)
    except InvalidOperation as exc:
        raise CellError(gettext_noop("amount is too large")) from exc
    if cents != amount:
        raise CellError(gettext_noop("amount has more than 2 decimals"))
    return cents


def _checked_amount(amount: Decimal) -> Decimal:
    if amount > MAX_AMOUNT:
        raise CellError(gettext_noop("amount is too large"))
    return amount


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
            raise CellError(gettext_noop("not a valid date")) from exc
    try:
        serial = float(text)
    except ValueError as exc:
        raise CellError(
            gettext_noop("date not in a known format (yyyy-mm-dd, dd/mm/yyyy)")
        ) from exc
    return _from_excel_serial(serial)


def _from_excel_serial(serial: float) -> datetime.date:
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        raise CellError(gettext_noop("number is not a plausible Excel date"))
    return EXCEL_EPOCH + datetime.timedelta(days=int(serial))


def header_key(header: str) -> str:
    """A header as a placeholder-friendly key: `Ciudad de Residencia` -> `ciudad_de_residencia`."""
    folded = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
