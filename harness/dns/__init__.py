"""The run's own DNS server: authoritative for the remote domains, faulted per domain."""
