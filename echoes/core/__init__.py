"""Small building blocks every layer may use: audio I/O, STFT, chunking, checkpoints, the Hub, metrics."""
