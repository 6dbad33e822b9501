"""The region fast path in parse_phone against phonenumbers itself, on random numbers."""

import random

import phonenumbers
import pytest

from debtors.imports import values

REGIONS = ["CO", "MX", "US", "CA", "GB", "AR", "BR", "ES", "DE", "IT", "IN", "RU", "KZ", "PE"]
TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


def _random_numbers(region: str, rng: random.Random, count: int) -> list[str]:
    """National numbers near the region's examples (mostly valid) and random digits."""
    examples = [
        str(example.national_number)
        for kind in TYPES
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    numbers = []
    for _ in range(count):
        if examples and rng.random() < 0.8:
            digits = rng.choice(examples)
            keep = rng.randrange(1, 4)
            tail = "".join(rng.choice("0123456789") for _ in digits[keep:])
            numbers.append(digits[:keep] + tail)
        else:
            numbers.append("".join(rng.choice("0123456789") for _ in range(rng.randrange(6, 14))))
    return numbers


def shapes(national: str, code: str, rng: random.Random) -> str:
    return rng.choice([national, f"+{code}{national}", f"{code}{national}", f"0{national}"])


def _reference(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("region", REGIONS)
def test_the_fast_path_agrees_with_phonenumbers_parse(region):
    rng = random.Random(region)
    code = str(phonenumbers.country_code_for_region(region))
    fast_taken = 0
    for national in _random_numbers(region, rng, 400):
        text = shapes(national, code, rng)
        fast = values._region_e164(text, region)
        if fast is not None:
            fast_taken += 1
            assert fast == _reference(text, region), text
    if region in {"CO", "MX", "US", "GB", "BR", "ES"}:
        assert fast_taken > 60  # most valid numbers in the region's own shapes take it


@pytest.mark.parametrize(
    "text", ["3001234567", "+57 300 123 4567", "573001234567", "+573001234567", "0057300123 4567"]
)
def test_every_common_colombian_shape_takes_the_fast_path(text):
    cleaned = values._PHONE_JUNK.sub("", text).replace("0057", "+57", 1)
    assert values._region_e164(cleaned, "CO") == "+573001234567"


def test_repeated_phones_are_parsed_once():
    values._phone_from_text.cache_clear()
    for _ in range(3):
        assert values.parse_phone("+57 300 765 4321", region="CO") == "+573007654321"
    info = values._phone_from_text.cache_info()
    assert (info.misses, info.hits) == (1, 2)
