"""SIPp scenarios and the harness that runs them (see peer.py)."""
