"""config.example.toml, rendered from the settings' declarations (`cara-fed config-example`,
`make config-example`); tests/core/test_config.py checks the committed file still matches."""

from __future__ import annotations

from dataclasses import fields

from cara_fed.config.schema import SECTIONS, Config


def example_toml() -> str:
    """config.example.toml, generated from the sections' declarations."""
    lines = ["# cara-fed configuration. Every setting is shown with its default.",
             "# Any setting can be overridden with CARA_FED__SECTION__KEY, e.g. CARA_FED__SERVER__PORT=8081.", ""]
    defaults = Config()
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        for f in fields(cls):
            doc = f.metadata.get("doc", "")
            choices = f.metadata.get("choices")
            lines.append(f"# {doc}" + (f" One of: {', '.join(choices)}." if choices else ""))
            value = getattr(getattr(defaults, section), f.name)
            if isinstance(value, bool):
                rendered = "true" if value else "false"
            elif isinstance(value, str):
                rendered = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                rendered = str(value)
            lines.append(f"{f.name} = {rendered}")
        lines.append("")
    return "\n".join(lines)
