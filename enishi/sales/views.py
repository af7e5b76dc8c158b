"""Screens for sales: thin views over the services and selectors."""
