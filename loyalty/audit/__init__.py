"""The audit log: every staff change to points, tiers, cards and leads, with who, why and when."""
