"""Customers: erasing a customer's contact (crypto-shredding)."""
