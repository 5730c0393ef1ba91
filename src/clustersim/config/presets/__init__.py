"""Built-in scenario presets (YAML files shipped as package data)."""
