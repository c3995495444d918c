"""``echoes evaluate`` and ``echoes bench``: material, metrics tables, reports. May import every layer."""
