"""The dispatch service: Open311 intake, live dispatch, durable ledger, access control."""
