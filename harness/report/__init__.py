"""The end of the flow: what a run leaves for people (``report.html``, ``certificate.json``,
the list of past runs). ``results.py`` holds the run record they are all made from."""
