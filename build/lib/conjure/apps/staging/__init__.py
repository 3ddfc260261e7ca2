"""The staging app (seed 001, Real Staging AI): projects, direct uploads, AI staging of room photos."""
