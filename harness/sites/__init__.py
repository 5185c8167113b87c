"""Mock remote sites: SMTP servers that record what they receive, and handles on them."""
