"""Mock remote sites: SMTP servers that record what they receive, and the harness's handle on them."""
