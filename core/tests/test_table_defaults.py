"""``table_defaults``: an absent table's model without building its validator, and the
same object ``model()`` validates (issue 12: building an agent stays cheap)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.config.loader import table_defaults, validate_table
from teragent.config.tools_config import ToolsConfig
from teragent.errors import ConfigError
from teragent.plugins import get_host


def _models() -> list[type]:
    reg = get_host().registry("config_tables")
    out = [AgentLoopConfig, ToolsConfig]
    for name in reg.names():
        model = reg.get(name)
        if isinstance(model, type) and issubclass(model, BaseModel):
            out.append(model)
    return out


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_defaults_equal_what_validation_gives(model):
    try:
        validated = model()
    except ValidationError:
        with pytest.raises(ValidationError):
            table_defaults(model)  # a table whose defaults are not valid stays an error
        return
    made = table_defaults(model)
    assert type(made) is model
    assert made == validated
    assert made.model_fields_set == validated.model_fields_set


class _Deferred(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    low: int = Field(default=1, ge=0)
    high: int = 2
    items: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> "_Deferred":
        if self.low >= self.high:
            raise ValueError("low must be below high")
        return self


def test_an_absent_table_builds_no_validator():
    assert not _Deferred.__pydantic_complete__
    made = validate_table({}, "t", _Deferred)
    assert (made.low, made.high, made.items) == (1, 2, [])
    assert not _Deferred.__pydantic_complete__, "the absent table built the schema"
    # A present table is validated as before.
    assert validate_table({"t": {"low": 0}}, "t", _Deferred).low == 0
    with pytest.raises(ConfigError, match="low must be below high"):
        validate_table({"t": {"low": 5}}, "t", _Deferred)


def test_defaults_that_fail_their_check_fail_as_validation_does():
    class Bad(BaseModel):
        model_config = ConfigDict(defer_build=True)
        low: int = 3
        high: int = 2

        @model_validator(mode="after")
        def _ordered(self) -> "Bad":
            if self.low >= self.high:
                raise ValueError("low must be below high")
            return self

    with pytest.raises(ConfigError, match="low must be below high"):
        validate_table({}, "bad", Bad)


def test_models_construction_cannot_stand_for_are_validated():
    class Required(BaseModel):
        model_config = ConfigDict(defer_build=True)
        name: str

    class Before(BaseModel):
        model_config = ConfigDict(defer_build=True)
        name: str = "a"

        @model_validator(mode="before")
        @classmethod
        def _upper(cls, data: dict) -> dict:
            return {"name": str(data.get("name", "a")).upper()}

    class Checked(BaseModel):
        model_config = ConfigDict(defer_build=True, validate_default=True)
        size: int = Field(default=-1, ge=0)

    with pytest.raises(ValidationError):
        table_defaults(Required)
    assert table_defaults(Before).name == "A"
    with pytest.raises(ValidationError):
        table_defaults(Checked)
