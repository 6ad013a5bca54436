"""The M3T-LM training frame (`frames.m3tlm`): one row per adult hospital admission with a prediction time.

See `frame.py` (what the frame holds and the settings that build it) and `frame.sql` (the rules).
"""
