"""The local stack: everything `make run` starts on one machine (never shipped to Lambda)."""
