"""The PBXGRAM_SECRET_KEY tests encrypt stored secrets with (a throwaway Fernet key)."""

from __future__ import annotations

from bot.secret_box import SecretBox

TEST_SECRET_KEY = "VHANnwNIvXiFg-yUWSpupOkd8H5s1tc2qVOIY-vnwLc="
TEST_BOX = SecretBox([TEST_SECRET_KEY])
