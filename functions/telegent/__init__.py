"""The Telegent mPaaS vendor client, shared by every function that talks to Telegent."""
