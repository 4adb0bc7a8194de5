"""The owner database: projects, units, members and who owns what."""
