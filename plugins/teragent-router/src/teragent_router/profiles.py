"""Pipeline profiles: named stage → driver maps, switchable at run time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teragent.errors import ConfigError, UserError

from teragent_router.defaults import load_defaults

__all__ = ["PipelineProfile", "PipelineManager", "STAGES"]

STAGES = ("design", "plan", "execute", "review")


@dataclass
class PipelineProfile:
    """Which driver runs each pipeline stage (and, optionally, how hard it thinks)."""

    name: str
    description: str = ""
    design_driver: str = ""
    plan_driver: str = ""
    execute_driver: str = ""
    review_driver: str = ""
    thinking_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def get_driver_for_stage(self, stage: str) -> str:
        if stage not in STAGES:
            raise UserError(f"Unknown pipeline stage {stage!r}; use one of "
                            f"{', '.join(STAGES)}.")
        return str(getattr(self, f"{stage}_driver"))

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> "PipelineProfile":
        known = {"description", "thinking_mode", *(f"{s}_driver" for s in STAGES)}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(name=name, extra=extra, **kwargs)


class PipelineManager:
    """Holds profiles and the active one.

    ``PipelineManager()`` starts with the shipped profiles (``default``, ``budget``,
    ``multimodal``, ``deep_thinking``) and ``default`` active.
    """

    def __init__(self, profiles: dict[str, PipelineProfile] | None = None,
                 active: str = "default") -> None:
        if profiles is None:
            profiles = {name: PipelineProfile.from_dict(name, data)
                        for name, data in load_defaults().get("profiles", {}).items()}
        self._profiles = dict(profiles)
        self._active = active if active in self._profiles else next(iter(self._profiles), "")
        self.switches: list[tuple[str, str]] = []

    def register_profile(self, profile: PipelineProfile) -> None:
        self._profiles[profile.name] = profile
        if not self._active:
            self._active = profile.name

    def set_active_profile(self, name: str) -> bool:
        if name not in self._profiles:
            return False
        if name != self._active:
            self.switches.append((self._active, name))
        self._active = name
        return True

    @property
    def active_profile_name(self) -> str:
        return self._active

    @property
    def active_profile(self) -> PipelineProfile:
        return self._profiles[self._active]

    def get_driver(self, stage: str) -> str:
        return self.active_profile.get_driver_for_stage(stage)

    def list_profiles(self) -> list[str]:
        return sorted(self._profiles)

    def get_profile(self, name: str) -> PipelineProfile | None:
        return self._profiles.get(name)

    @classmethod
    def from_config(cls, config: dict[str, Any], routing_table: Any = None) -> "PipelineManager":
        """Shipped profiles, plus ``[pipeline.profiles.<name>]`` tables, with
        ``[execution.pipeline]`` overriding the ``default`` profile's drivers and its
        ``active_profile`` choosing the active one."""
        pm = cls()
        for name, data in ((config.get("pipeline") or {}).get("profiles") or {}).items():
            base = pm.get_profile(name)
            merged = {**(base.__dict__ if base else {}), **data}
            merged.pop("name", None)
            extra = merged.pop("extra", {}) or {}
            pm.register_profile(PipelineProfile.from_dict(name, {**extra, **merged}))
        execution = (config.get("execution") or {}).get("pipeline") or {}
        overrides = {k: v for k, v in execution.items() if k.endswith("_driver")}
        if overrides:
            base = pm.get_profile("default")
            data = {**(base.__dict__ if base else {}), **overrides}
            data.pop("name", None)
            data.pop("extra", None)
            pm.register_profile(PipelineProfile.from_dict("default", data))
        active = execution.get("active_profile")
        if active and not pm.set_active_profile(active):
            raise ConfigError(f"active_profile {active!r} is not a profile; have "
                              f"{', '.join(pm.list_profiles())}", key="execution.pipeline")
        return pm
