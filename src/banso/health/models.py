"""Scorecards (versioned), daily score snapshots, and NPS/CSAT surveys with their answers."""
