"""Qt widgets: thin views over the mail layer."""
