"""Publishing as files change: the watcher and the scheduler."""
