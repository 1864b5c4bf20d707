"""One pass into its outputs: seed sources, planning, the writer of feeds/, status."""
