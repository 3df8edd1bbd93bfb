"""Generated passwords: length, character sets, no look-alikes."""

import pytest

from onetime.core.errors import InvalidInput
from onetime.core.passwords import CharacterSets, generate_password


def test_default_password_mixes_all_chosen_sets_without_lookalikes() -> None:
    for _ in range(200):
        password = generate_password(12)
        assert len(password) == 12
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert not set(password) & set("0O1lI|5S2Z8B")


def test_only_the_requested_sets_are_used() -> None:
    digits = CharacterSets(uppercase=False, lowercase=False, numbers=True, exclude_ambiguous=False)
    assert generate_password(40, digits).isdigit()
    with_symbols = CharacterSets(symbols=True)
    assert any(not c.isalnum() for c in generate_password(64, with_symbols))


@pytest.mark.parametrize("length", [7, 129, 0])
def test_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(InvalidInput):
        generate_password(length)


def test_no_sets_is_refused() -> None:
    none = CharacterSets(uppercase=False, lowercase=False, numbers=False, symbols=False)
    with pytest.raises(InvalidInput):
        generate_password(12, none)


def test_passwords_do_not_repeat() -> None:
    assert len({generate_password(16) for _ in range(500)}) == 500
