"""Training side of the runner (imported in the child process; torch is imported lazily)."""
