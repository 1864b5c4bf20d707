"""What the tests share: server harnesses, sample sites, feed checks."""
