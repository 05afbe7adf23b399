"""Automation rules: findings matched to intents, with modes, limits, exemptions,
backlog control and non-production-first promotion (``clamp rules``)."""

from clamp.automation.rules import Rule, load_rules, parse_rules

__all__ = ["Rule", "load_rules", "parse_rules"]
