"""The quiz session, without rendering: plan (which cards), io (lines in), loop (asking
through the card kinds, saving each answer), report (JSON lines and the summary)."""
