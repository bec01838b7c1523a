"""Reading video frames and audio from media files."""
