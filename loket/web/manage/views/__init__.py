"""Administration screens (admins only): agents, teams, channels, general settings."""
