"""Archivist controls applied around restoration: channel choice, playback EQ curves, playback speed."""
