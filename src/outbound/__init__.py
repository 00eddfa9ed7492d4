"""Outbound: a bulk outbound dialer with paced, compliant, crash-safe campaigns."""

__version__ = "0.1.0"
