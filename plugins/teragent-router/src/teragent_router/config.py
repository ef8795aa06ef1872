"""The router's ``agent.toml`` tables besides ``[routing]`` (a
:class:`~teragent.router.table.RoutingTable`): ``[execution.pipeline]`` and
``[pipeline.profiles.<name>]``, read by
:meth:`~teragent.router.profiles.PipelineManager.from_config`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExecutionConfig", "ExecutionPipeline", "ExecutionPipelineConfig",
           "PipelineConfig"]


class ExecutionPipeline(BaseModel):
    """``[execution.pipeline]``: the driver of each stage of the ``default`` profile,
    and which profile is active."""

    model_config = ConfigDict(extra="forbid")

    design_driver: str | None = None
    plan_driver: str | None = None
    execute_driver: str | None = None
    review_driver: str | None = None
    #: A profile name (``default``, ``budget``, ``multimodal``, ``deep_thinking``, or
    #: one of ``[pipeline.profiles]``).
    active_profile: str | None = None


#: The documented name (``teragent.config.execution_pipeline_config``).
ExecutionPipelineConfig = ExecutionPipeline


class ExecutionConfig(BaseModel):
    """``[execution]``."""

    model_config = ConfigDict(extra="forbid")

    pipeline: ExecutionPipeline = Field(default_factory=ExecutionPipeline)


class PipelineConfig(BaseModel):
    """``[pipeline]``: ``[pipeline.profiles.<name>]`` tables, each with
    ``*_driver`` keys, ``description``, ``thinking_mode`` and the profile's own
    extra settings."""

    model_config = ConfigDict(extra="forbid")

    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
