"""Brain and BrainConfig: the container of one memory system and its tuning knobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from neural_memory.core._validation import require_text, set_field
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.errors import ConfigError

__all__ = ["Brain", "BrainConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainConfig:
    """How a brain behaves. Every field is keyword-only and validated.

    Attributes:
        decay_rate: How fast memories fade, per day (Ebbinghaus rate, 0-1).
        reinforcement_delta: Strength gained by a synapse or neuron on each access (0-1).
        activation_threshold: Minimum activation for a neuron to keep spreading (0-1).
        max_spread_hops: Maximum traversal depth of spreading activation (>= 1).
        max_context_tokens: Default token budget of the context a query returns (>= 1).
    """

    decay_rate: float = 0.1
    reinforcement_delta: float = 0.05
    activation_threshold: float = 0.2
    max_spread_hops: int = 4
    max_context_tokens: int = 1500

    def __post_init__(self) -> None:
        for name in ("decay_rate", "reinforcement_delta", "activation_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value}")
            set_field(self, name, float(value))
        for name in ("max_spread_hops", "max_context_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    def with_changes(
        self,
        *,
        decay_rate: float | None = None,
        reinforcement_delta: float | None = None,
        activation_threshold: float | None = None,
        max_spread_hops: int | None = None,
        max_context_tokens: int | None = None,
    ) -> BrainConfig:
        """Return a copy with the given fields replaced (the rest unchanged)."""
        changes: dict[str, Any] = {
            "decay_rate": decay_rate,
            "reinforcement_delta": reinforcement_delta,
            "activation_threshold": activation_threshold,
            "max_spread_hops": max_spread_hops,
            "max_context_tokens": max_context_tokens,
        }
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


@dataclass(frozen=True, slots=True, kw_only=True)
class Brain:
    """One memory system: an id, a human name and its configuration."""

    id: str
    name: str
    config: BrainConfig = field(default_factory=BrainConfig)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.id, "brain id")
        require_text(self.name, "brain name")
        if not isinstance(self.config, BrainConfig):
            raise ConfigError(f"config must be a BrainConfig, got {type(self.config).__name__}")
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "updated_at", as_utc(self.updated_at or self.created_at))

    @classmethod
    def create(
        cls,
        name: str,
        config: BrainConfig | None = None,
        *,
        brain_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Brain:
        """Create a brain with a fresh id (or ``brain_id``) and ``config`` (default config)."""
        return cls(
            id=brain_id or str(uuid.uuid4()),
            name=name,
            config=config or BrainConfig(),
            created_at=created_at or utcnow(),
        )

    def with_config(self, config: BrainConfig, *, updated_at: datetime | None = None) -> Brain:
        """Return a copy using ``config``."""
        return replace(self, config=config, updated_at=updated_at or utcnow())

    def with_name(self, name: str, *, updated_at: datetime | None = None) -> Brain:
        """Return a renamed copy."""
        return replace(self, name=name, updated_at=updated_at or utcnow())
