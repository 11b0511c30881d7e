"""Banso (伴走): the customer-operations platform."""
