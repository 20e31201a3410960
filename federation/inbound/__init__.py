"""Activities other servers send us: verify, record, then one handler per activity type."""
