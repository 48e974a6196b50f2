"""Rasa input and output channels written for this assistant (see credentials.yml)."""
