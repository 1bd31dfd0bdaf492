"""What handlers and jobs call: the rules behind a command, free of Telegram types."""
