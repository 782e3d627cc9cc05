"""Sign-In with Ethereum (EIP-4361): messages, signatures and single-use nonces."""
