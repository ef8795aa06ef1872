"""The kernel's own plugin: its defaults register through the same hooks as any
third-party plugin's."""

from __future__ import annotations

from teragent.hookspecs import Register, RegisterCommand, RegisterPrompt, hookimpl

DEFAULT_PROMPTS = {
    "design": "You are a software architect. Produce a clear, concrete design: "
              "components, their responsibilities, data flow and the key trade-offs.",
    "plan": "You are a technical lead. Break the work into small ordered tasks, each "
            "with a clear completion criterion and its dependencies.",
    "replan": "You are a technical lead revising a plan. Keep what is done, explain what "
              "changes and why, and give the updated ordered task list.",
    "execute": "You are a careful software engineer. Do exactly what the task asks, "
               "respect every constraint, and return complete, working output.",
    "review": "You are a strict code reviewer. Find real defects first (correctness, "
              "security, data loss), then risks, then style; cite exact locations.",
    "chat": "You are a helpful assistant. Answer accurately and concisely.",
    "chat_friendly": "You are a friendly, patient assistant. Explain simply and warmly, "
                     "without losing accuracy.",
    "sub_agent": "You are a focused sub-agent. Complete only the delegated task and "
                 "report the result briefly so the parent agent can continue.",
}


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    register("default", "teragent.core.compilers.default:DefaultCompiler",
             description="Generic OpenAI-style chat messages")


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("mock", "teragent.core.adapters.mock:MockAdapter",
             description="No HTTP; echoes or replays fixed answers (tests)")


@hookimpl
def teragent_register_prompts(register: RegisterPrompt) -> None:
    for intent, prompt in DEFAULT_PROMPTS.items():
        register(intent, "default", prompt)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    cfg = "teragent.config"
    register("drivers", f"{cfg}.driver_config:DriverConfig",
             description="[drivers.<adapter>.<identity>]: one model driver each")
    register("agent", f"{cfg}.teragent_config:AgentTable", description="The agent loop")
    register("audit", f"{cfg}.teragent_config:AuditConfig", description="The audit log")
    register("workspace", f"{cfg}.teragent_config:WorkspaceConfig",
             description="Protected paths of the workspace")
    register("streaming", f"{cfg}.streaming_config:StreamingConfig",
             description="Streaming the model's answer")
    register("tools", f"{cfg}.tools_config:ToolsConfig", description="Which tools are offered")
    register("model_fallback", f"{cfg}.model_fallback_config:ModelFallbackConfig",
             description="The driver (or chain) that takes over from a failing model")


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    cmds = "teragent.cli.commands"
    register("plugins", f"{cmds}:cmd_plugins", help="List installed plugins and their hooks",
             add_arguments=f"{cmds}:args_plugins")
    register("config", "teragent.cli.config_cmd:cmd_config",
             help="Check agent.toml, or show the resolved configuration",
             add_arguments="teragent.cli.config_cmd:args_config")
    register("version", f"{cmds}:cmd_version", help="Show the versions of TerAgent and plugins")
    register("run", f"{cmds}:cmd_run", help="Run an agent on a task in this directory",
             add_arguments=f"{cmds}:args_run")
    register("chat", f"{cmds}:cmd_chat", help="Chat interactively with an agent",
             add_arguments=f"{cmds}:args_chat")
    setup = "teragent.cli.setup_cmds"
    for name, help_text in (
            ("models", "List the models installed plugins offer (-m PROVIDER:MODEL)"),
            ("keys", "Store API keys: keys set|list|remove NAME (a 0600 file)"),
            ("init", "Write a commented agent.toml here"),
            ("install", "Install packages (plugins) with pip into TerAgent's environment"),
            ("uninstall", "Uninstall packages with pip from TerAgent's environment")):
        register(name, f"{setup}:cmd_{name}", help=help_text,
                 add_arguments=f"{setup}:args_{name}")
