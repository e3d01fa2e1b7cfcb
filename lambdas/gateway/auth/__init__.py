"""Customer authorization: verify the customer's own session token and bind it to exactly
that customer's Opower ids. Used by the authorizer Lambda only (it imports PyJWT)."""
