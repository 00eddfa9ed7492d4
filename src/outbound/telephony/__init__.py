"""The telephony port and its adapters: the simulator (default), Twilio, and a SIP trunk."""
