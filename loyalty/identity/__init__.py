"""Who is calling: members log in with phone + one-time code, staff with a password and a role."""
