"""Value classes: equal and hashable by value, and immutable where it is checked (mypy)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mypy import api as mypy_api

from onetime.core.records import Counter
from onetime.core.values import value

SRC = Path(__file__).resolve().parents[2] / "src"


@value
class Point:
    x: int
    y: int = 0


def test_value_classes_compare_and_hash_by_value() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert replace(Point(1, 2), y=5) == Point(1, 5)
    assert not hasattr(Point(1), "__dict__")  # slots: no per-instance dictionary
    assert hash(Counter(3, 60)) == hash(Counter(3, 60))


def test_the_type_checker_refuses_assignment_to_a_field(tmp_path: Path) -> None:
    # Immutability is enforced by mypy (strict over src/), not at run time: that is what makes
    # building these values cheap. Check mypy does refuse, for a class of src/ and for a new one.
    program = (
        "from onetime.core.records import Counter\n"
        "from onetime.core.values import value\n"
        "@value\n"
        "class Pair:\n"
        "    a: int\n"
        "counter = Counter(1, 2)\n"
        "counter.value = 5\n"
        "pair = Pair(1)\n"
        "pair.a = 2\n"
    )
    (tmp_path / "check.py").write_text(program)
    (tmp_path / "mypy.ini").write_text(f"[mypy]\nstrict = True\nmypy_path = {SRC}\n")
    config, target = str(tmp_path / "mypy.ini"), str(tmp_path / "check.py")
    out, _, status = mypy_api.run(["--config-file", config, "--no-incremental", target])
    assert status == 1, out
    assert out.count("is read-only") == 2, out
