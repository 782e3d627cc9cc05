"""Organizations: the companies that hold Hokusai keys, and their members."""
