"""evrepro: reproduce ECN and AEGNN side by side on the same event-camera data."""

__version__ = "0.1.0"
