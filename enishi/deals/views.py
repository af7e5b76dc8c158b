"""Screens for deals: thin views over the services and selectors."""
