"""TerAgent plugin: the pipeline primitives and the Design → Plan → Code → Review
pipeline.

Served as the documented ``teragent.pipeline.extractor``, ``.prompt_builder`` and
``.checklist`` (``teragent.pipeline.retry`` stays in the kernel), and exported from
``teragent`` (``teragent.extract_files_from_response``, ...). No hookimpls: the
pipeline's ``[execution.pipeline]`` table belongs to the router, whose profiles it uses.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "extract_files_from_response": "teragent_pipeline.extractor",
    "write_files": "teragent_pipeline.extractor",
    "build_prompt": "teragent_pipeline.prompt_builder",
    "build_subagent_prompt": "teragent_pipeline.prompt_builder",
    "validate_prompt_tokens": "teragent_pipeline.prompt_builder",
    "TaskInfo": "teragent_pipeline.checklist",
    "run_deterministic_checks": "teragent_pipeline.checklist",
    "check_code_quality": "teragent_pipeline.checklist",
    "check_runnable": "teragent_pipeline.checklist",
    "DevelopmentPipeline": "teragent_pipeline.pipeline",
    "PipelineResult": "teragent_pipeline.pipeline",
    "TaskAttempt": "teragent_pipeline.pipeline",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("teragent_pipeline", _EXPORTS, globals())
