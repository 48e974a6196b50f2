"""The action server's package: thin Rasa actions over the `pain_assistant` modules."""
