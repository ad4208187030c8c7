"""A QuickBooks Online API emulator faithful to /work/shared/reference/qbo-api.md (see server.QboEmulator)."""
