"""The knowledge base the action server serves, loaded once when the server imports its actions.

A file that fails validation stops the server at start, with the problems listed, rather than
letting it serve part of the content.
"""

from pain_assistant import knowledge

try:
    KNOWLEDGE = knowledge.load()
except knowledge.KnowledgeError as error:
    raise SystemExit(f"Refusing to start the action server: the knowledge file is broken.\n{error}") from error
