"""Field types for what the service stores and reads.

- Text with a NUL character and numbers beyond a 32-bit column fail
  validation (a 400 naming the field), not in the database (a 500).
- `name_text` is NFKC-normalised and holds no invisible or control characters.
- `Integral` takes `7` or `7.0`; `QueryInt` only ASCII digits.
"""

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from ..models.base import ID_MAX

# Unicode categories no name holds: controls (terminal escapes among them),
# invisible format characters (zero-width space and joiner, BOM), surrogates,
# private-use and unassigned code points, line and paragraph separators.
NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
DIGITS = re.compile(r"[0-9]+")


def storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def name_text(text: str) -> str:
    """`text` as a name: NFKC-normalised, stripped, every character visible."""
    text = unicodedata.normalize("NFKC", text).strip()
    unseen = sorted(
        {f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in NOT_IN_NAMES}
    )
    if unseen:
        raise ValueError(f"must hold visible characters only, not {', '.join(unseen)}")
    return text


def integral(value: Any) -> Any:
    """A float with nothing after the point (`4318.0`) as the integer it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def ascii_digits(value: Any) -> Any:
    if isinstance(value, str) and not DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in the digits 0-9")
    return value


# Add it after a string's other constraints: Annotated[str, ..., Storable].
Storable = AfterValidator(storable)
# A name's own constraints (length) go after it: Annotated[str, NameText, ...].
NameText = AfterValidator(name_text)
# Before-validators go after the type's constraints, which then reach the
# document: Annotated[int, Field(ge=0), QueryInt].
Integral = BeforeValidator(integral)
QueryInt = BeforeValidator(ascii_digits)
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Count = Annotated[int, Field(ge=0, le=ID_MAX), Integral]
