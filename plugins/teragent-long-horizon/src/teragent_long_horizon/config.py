"""The ``[long_horizon]`` table of ``agent.toml``: the settings a
:class:`~teragent_long_horizon.manager.LongHorizonTaskManager` built without an explicit
``config=`` uses.

```toml
[long_horizon]
max_duration_hours = 4
checkpoint_interval_minutes = 10
evaluation_interval_steps = 20
evaluation_interval_minutes = 30
max_strategy_switches = 3
keep_checkpoints = 5
max_phase_attempts = 2
checkpoint_dir = ".teragent/checkpoints"
```
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LongHorizonSettings", "long_horizon_settings"]


class LongHorizonSettings(BaseModel):
    """``[long_horizon]``: time limit, checkpoints, self-evaluation and strategy
    switches of long-horizon tasks (the fields of ``teragent.core.tap.LongHorizonConfig``
    plus the manager's own)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Stop starting phases (and stop a running one) after this many hours of work,
    #: counted over every resumed run.
    max_duration_hours: float = Field(default=8.0, gt=0)
    #: Save a checkpoint this often during a long phase (besides after each phase);
    #: 0 turns the timer off.
    checkpoint_interval_minutes: float = Field(default=15.0, ge=0)
    #: Ask the model to evaluate progress after this many agent steps...
    evaluation_interval_steps: int = Field(default=10, ge=1)
    #: ... or this many minutes, whichever comes first.
    evaluation_interval_minutes: float = Field(default=30.0, gt=0)
    #: Strategy switches allowed per task.
    max_strategy_switches: int = Field(default=3, ge=0)
    #: Checkpoints kept per task (the newest).
    keep_checkpoints: int = Field(default=5, ge=1)
    #: Tries per sub-goal; a retry happens only after a strategy switch.
    max_phase_attempts: int = Field(default=2, ge=1)
    #: Where checkpoints are filed, relative to the workspace (``<dir>/<task_id>/``).
    checkpoint_dir: str = Field(default=".teragent/checkpoints", min_length=1)

    def tap_config(self) -> Any:
        """The ``LongHorizonConfig`` of these settings (``keep_checkpoints`` and
        ``max_phase_attempts`` ride along as its extra fields)."""
        from teragent.core.tap import LongHorizonConfig

        return LongHorizonConfig(**self.model_dump(exclude={"checkpoint_dir"}))


def long_horizon_settings(config: Mapping[str, Any]) -> LongHorizonSettings:
    """``[long_horizon]`` of a loaded ``agent.toml``, validated: an unknown key or a bad
    value is a :class:`~teragent.errors.ConfigError` naming the file, line and key."""
    from teragent.config.loader import validate_table

    return validate_table(config, "long_horizon", LongHorizonSettings)  # type: ignore[no-any-return]
