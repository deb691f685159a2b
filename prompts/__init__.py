"""Prompt templates are data: YAML files beside this module, loaded with importlib.resources.

Each file declares `variables`; loading checks that its Jinja templates use exactly those, so a
renamed variable fails at start-up rather than as an empty hole in a prompt. Rendering uses
StrictUndefined for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml
from jinja2 import Environment, StrictUndefined, Template, TemplateError, meta


class PromptError(ValueError):
    """A prompt file is missing, malformed, or does not use the variables it declares (a bug, not user input)."""


# Plain text: no HTML escaping, and a template's trailing newline is kept as written.
_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Prompt:
    """One chat prompt: a system message and a user message, both Jinja templates."""

    name: str
    description: str
    variables: frozenset[str]
    system: Template
    user: Template

    def render(self, **values: object) -> tuple[str, str]:
        """(system, user) texts. Every declared variable must be given, and nothing else."""
        given = set(values)
        if given != self.variables:
            raise PromptError(f"prompt {self.name!r} needs {sorted(self.variables)}, got {sorted(given)}")
        return self.system.render(**values).strip(), self.user.render(**values).strip()


@dataclass(frozen=True)
class Prompts:
    """The prompts the LLM answer mode uses."""

    answer: Prompt
    condense: Prompt


def load_prompt(name: str, package: str = __name__) -> Prompt:
    """prompts/NAME.yaml, checked: keys `variables`, `system`, `user`; templates use exactly `variables`."""
    try:
        raw = resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(raw)
    except (FileNotFoundError, yaml.YAMLError) as exc:
        raise PromptError(f"prompt {name!r} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not {"variables", "system", "user"} <= set(data):
        raise PromptError(f"prompt {name!r} needs the keys variables, system and user")
    declared = frozenset(data["variables"] or ())
    used: set[str] = set()
    templates = {}
    for part in ("system", "user"):
        try:
            used |= meta.find_undeclared_variables(_ENV.parse(data[part]))
            templates[part] = _ENV.from_string(data[part])
        except TemplateError as exc:
            raise PromptError(f"prompt {name!r}, {part}: {exc}") from exc
    if used != declared:
        raise PromptError(f"prompt {name!r} declares {sorted(declared)} but its templates use {sorted(used)}")
    return Prompt(name=name, description=str(data.get("description", "")), variables=declared,
                  system=templates["system"], user=templates["user"])


def load_prompts(package: str = __name__) -> Prompts:
    return Prompts(answer=load_prompt("answer", package), condense=load_prompt("condense", package))
