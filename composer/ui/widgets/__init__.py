"""Small widgets of the compose window, each in its own module."""
