"""People who sign in: created at their first wallet sign-in, disabled and enabled by operators."""
