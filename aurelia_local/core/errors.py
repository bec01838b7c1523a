"""The project's exception types.

Every error a user can cause (bad input, missing model, bad config) is an ``AureliaError`` with a
message that names the input and what is wrong, and usually the fix. Batch runs catch
``AureliaError`` per sample, record it and go on.
"""


class AureliaError(Exception):
    """Base class for errors caused by input, configuration or the environment."""


class ConfigError(AureliaError):
    """A configuration value, file or override is invalid."""


class ModelMissingError(AureliaError):
    """A model folder the active profile needs is not on disk."""


class MediaError(AureliaError):
    """A media file cannot be read or does not hold what the sample needs."""


class ModelOutputError(AureliaError):
    """A model's output does not parse as the structure its prompt and schema require."""


class EngineError(AureliaError):
    """An inference engine or server refused a request or could not be reached."""
