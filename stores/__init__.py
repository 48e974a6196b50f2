"""Where conversations are kept: Rasa's SQL tracker store with redaction, forget-me and retention."""
