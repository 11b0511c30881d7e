"""Churn reasons and records, and the churn-risk model: trained versions and their predictions."""
