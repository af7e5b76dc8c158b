"""Screens for inquiries: thin views over the services and selectors."""
