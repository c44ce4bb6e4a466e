"""Quality signals: language identification and basic text measures."""
