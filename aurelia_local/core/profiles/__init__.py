"""Built-in configuration profiles (YAML data files)."""
