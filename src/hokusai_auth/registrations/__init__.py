"""Companies joining Hokusai: registration, email verification, an operator's decision, and the claim link that
turns an approved registration into an organization with an Owner and a production key."""
