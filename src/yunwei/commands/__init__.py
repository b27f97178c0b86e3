"""CLI sub-commands. Each module defines ``register(subparsers)`` and sets ``func`` on its parsers."""
