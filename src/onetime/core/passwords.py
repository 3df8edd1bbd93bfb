"""Strong random passwords, made on request and shared as a secret."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from onetime.core.errors import N_, InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
DEFAULT_LENGTH = 12
_SYMBOLS = "!#$%&*+-=?@^_~"
# Characters people confuse when reading or typing a password.
_AMBIGUOUS = set("0O1lI|5S2Z8B")


@dataclass(frozen=True, slots=True)
class CharacterSets:
    """Which kinds of characters a generated password contains."""

    uppercase: bool = True
    lowercase: bool = True
    numbers: bool = True
    symbols: bool = False
    exclude_ambiguous: bool = True

    def pools(self) -> list[str]:
        chosen = [
            (self.uppercase, string.ascii_uppercase),
            (self.lowercase, string.ascii_lowercase),
            (self.numbers, string.digits),
            (self.symbols, _SYMBOLS),
        ]
        pools = [chars for wanted, chars in chosen if wanted]
        if self.exclude_ambiguous:
            pools = ["".join(c for c in chars if c not in _AMBIGUOUS) for chars in pools]
        return pools


def generate_password(length: int = DEFAULT_LENGTH, sets: CharacterSets | None = None) -> str:
    """Return a random password with at least one character from every chosen set."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidInput(
            N_("The length must be between {min} and {max}."),
            field="length",
            min=MIN_LENGTH,
            max=MAX_LENGTH,
        )
    pools = (sets or CharacterSets()).pools()
    if not pools:
        raise InvalidInput(N_("Choose at least one kind of character."), field="character_sets")
    alphabet = "".join(pools)
    chars = [secrets.choice(pool) for pool in pools]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    # Shuffle so the guaranteed characters do not sit at predictable positions.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
