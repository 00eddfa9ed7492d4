"""The rules of dialing, free of I/O: settings, lifecycles, outcomes, pacing, rotation, hours.

Nothing here reads a clock, touches a database or draws global randomness: time and random
generators come in as arguments, decisions come out as values.
"""
