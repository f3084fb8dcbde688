"""Phone numbers in E.164, the one form numbers are compared (and hashed) in."""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def to_e164(raw: str | None, default_country_code: str = "1") -> str | None:
    """`raw` in E.164, or None when it cannot be read as a number.

    Written with a leading `+` (or `00`), the digits are taken as they are. Without one, ten
    digits are a national number of `default_country_code` (NANP: "(404) 555-0100") and eleven
    digits starting with that code are already international; anything else is ambiguous.
    """
    if not raw:
        return None
    text = raw.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        number = "+" + digits
    elif text.startswith("00"):
        number = "+" + digits[2:]
    elif len(digits) == 10 and not digits.startswith(("0", "1")):
        number = "+" + default_country_code + digits
    elif len(digits) == 10 + len(default_country_code) and digits.startswith(default_country_code):
        number = "+" + digits
    else:
        return None
    return number if E164.match(number) else None
