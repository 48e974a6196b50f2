"""Personal data out of the server's logs too: Rasa logs a message's text when handling it
fails, and its sender id at debug level on every turn."""

from __future__ import annotations

import logging

from pain_assistant.redaction import redact


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_logs() -> None:
    """Put the filter on every handler of the root logger, where Rasa's log lines end up."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
