"""The sandbox runner's parts (sandbox/runner.py is the entry point). Runs inside the sandbox."""
