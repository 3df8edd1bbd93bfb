"""Everything one run measured, and how it is written to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.full import FillResult, FullComparison
from harness.memory import MemoryResult
from harness.throughput import Measurement, Summary


@dataclass
class Results:
    """Everything measured so far (parts that were skipped stay empty)."""

    measurements: list[Measurement] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    memory: list[MemoryResult] = field(default_factory=list)
    fills: list[FillResult] = field(default_factory=list)
    full_measurements: list[Measurement] = field(default_factory=list)
    full_summaries: list[Summary] = field(default_factory=list)
    comparisons: list[FullComparison] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "throughput": {
                "runs": [m.to_json() for m in self.measurements],
                "medians": [s.to_json() for s in self.summaries],
            }
        }
        if self.memory:
            document["memory"] = [m.to_json() for m in self.memory]
        if self.fills:
            document["full_store"] = {
                "fills": [f.to_json() for f in self.fills],
                "runs": [m.to_json() for m in self.full_measurements],
                "medians": [s.to_json() for s in self.full_summaries],
                "comparisons": [c.to_json() for c in self.comparisons],
            }
        return document
