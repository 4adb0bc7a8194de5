"""Club events, seasonal programs, signups (capacity, waitlist, Stripe fees) and door check-in."""
