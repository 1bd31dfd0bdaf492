"""pbxgram: Telegram bot for cloud PBX telephony."""
