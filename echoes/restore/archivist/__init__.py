"""Archivist controls applied around restoration: channel choice (channels), playback EQ curves (eq), playback tuning: the speed from the piano's tuning (tuning)."""
