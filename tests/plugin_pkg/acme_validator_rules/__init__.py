"""ACME's rules for the Scale real-time validator, shipped as their own distribution."""
