"""Integrations with other packages; each one imports its package only when used."""
