"""Dozvon: a voice robot that confirms online-shop orders by phone."""
