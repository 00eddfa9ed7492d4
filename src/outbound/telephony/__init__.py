"""The telephony port and its adapters: the simulator (default), and later real carriers."""
