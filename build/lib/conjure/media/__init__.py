"""Media helpers any app may use: bounded provider calls, safe image downloads, Pillow checks."""
