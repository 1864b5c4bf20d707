"""The WebSub hub: who subscribed to which feed, and asking each callback first.

It lives where the state lives (``serve``'s one process), never in a web process.
"""
