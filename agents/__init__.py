"""Agents that plan and learn with pan-gym world models (built on the env API only)."""
