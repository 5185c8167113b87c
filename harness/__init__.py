"""mta-harness: fault-injection tests for mail transfer agents.

The claim it certifies: one dead link never stalls delivery to healthy sites, and no mail is
lost. Data flows workload -> MTA -> links -> sites -> ledger -> properties -> report.
"""

__version__ = "0.1.0"
