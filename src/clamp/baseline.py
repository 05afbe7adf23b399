"""The password policy baseline accounts are held to, from Clamp's config file.

Defaults follow common hardening guides: at least 14 characters, upper and lower case,
digits and symbols, expiry after 90 days (or ``"never"`` for organisations that follow
NIST SP 800-63B, which advises against forced rotation), no reuse of the last 5 passwords,
lockout after 10 failed attempts, and MFA for everyone. Change them in the config file::

    [password_baseline]
    min_length = 16
    max_age_days = "never"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from clamp.errors import ConfigError

NEVER = "never"


@dataclass(frozen=True)
class PasswordBaseline:
    """What a tenant's or customer's password policy must at least require."""

    min_length: int = 14
    require_upper: bool = True
    require_lower: bool = True
    require_digits: bool = True
    require_symbols: bool = True
    max_age_days: int | str = 90
    prevent_reuse: int = 5
    lockout_threshold: int = 10
    require_mfa: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> PasswordBaseline:
        """The baseline from a config table, each value checked (errors name ``where``)."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}: unknown password_baseline key(s) {unknown}; valid: {sorted(known)}"
            )
        for key, value in data.items():
            default = getattr(cls(), key)
            if key == "max_age_days" and value == NEVER:
                continue
            expected = bool if isinstance(default, bool) else int
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f"{where}: password_baseline.{key} must be {expected.__name__}")
            if expected is int and value < 0:
                raise ConfigError(f"{where}: password_baseline.{key} must not be negative")
        return cls(**dict(data))

    @property
    def expires(self) -> bool:
        """Whether the baseline wants passwords to expire."""
        return self.max_age_days != NEVER
