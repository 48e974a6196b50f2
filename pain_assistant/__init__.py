"""The MS pain assistant's logic, kept apart from Rasa so it can be tested on its own."""
