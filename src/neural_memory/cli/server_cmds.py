"""``nmem serve | mcp | keys | config``: servers, API keys and settings."""

from __future__ import annotations
