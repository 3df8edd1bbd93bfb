"""Plans: what anonymous visitors and each kind of account may do.

Plans come from the configuration; an operator assigns one to an account
(`onetime admin user plan EMAIL PLAN`). There is no payment processing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from onetime.core.errors import N_, InvalidInput
from onetime.core.policy import DAY

ANONYMOUS_PLAN = "anonymous"
DEFAULT_ACCOUNT_PLAN = "free"


@dataclass(frozen=True, slots=True)
class Plan:
    """The limits of one plan."""

    name: str
    ttl_max: int
    secret_max_bytes: int
    email_recipients: bool = False
    custom_domains: bool = False


DEFAULT_PLANS = (
    Plan(ANONYMOUS_PLAN, 7 * DAY, 10_000),
    Plan("free", 14 * DAY, 10_000, email_recipients=True),
    Plan("paid", 30 * DAY, 10_000, email_recipients=True, custom_domains=True),
)


class Plans:
    """The configured plans by name; `anonymous` always exists, and so does the default plan."""

    def __init__(self, plans: Mapping[str, Plan], default: str = DEFAULT_ACCOUNT_PLAN) -> None:
        if ANONYMOUS_PLAN not in plans:
            raise ValueError(f"the plans must include {ANONYMOUS_PLAN!r}")
        if default not in plans or default == ANONYMOUS_PLAN:
            raise ValueError(f"the default account plan {default!r} is not an account plan")
        self._plans = dict(plans)
        self.default = default

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._plans)

    @property
    def account_names(self) -> tuple[str, ...]:
        return tuple(name for name in self._plans if name != ANONYMOUS_PLAN)

    def get(self, name: str | None) -> Plan:
        """The plan called `name`; an account whose plan was removed gets the default plan."""
        if name is None:
            return self._plans[ANONYMOUS_PLAN]
        return self._plans.get(name) or self._plans[self.default]

    def check_account_plan(self, name: str) -> str:
        """`name` if it is a plan an account can have; InvalidInput otherwise."""
        if name not in self._plans or name == ANONYMOUS_PLAN:
            raise InvalidInput(
                N_("There is no plan called {name}. Plans: {names}."),
                field="plan",
                name=name,
                names=", ".join(self.account_names),
            )
        return name
