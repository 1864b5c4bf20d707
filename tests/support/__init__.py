"""What the tests share, one of each: server processes, HTTP clients, waiting, sample sites,
feed checks."""
