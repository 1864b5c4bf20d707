"""The soak test of `seedfeeds serve`: run it with `python bench/soak`."""
