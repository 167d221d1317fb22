"""The Vault stand-in's implementation; vault_standin.py is the entry point."""
