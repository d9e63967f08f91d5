"""Mail logic: drafts, messages, transport, accounts and secrets. Never imports Qt."""
