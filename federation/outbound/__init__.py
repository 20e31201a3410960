"""What we send and serve for each core event, and its delivery."""
