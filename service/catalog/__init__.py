"""Every article once, what each change touched, and what survives restarts."""
