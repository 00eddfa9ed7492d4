"""The dialer: claims due contacts, originates, applies call events, sweeps expired leases."""
