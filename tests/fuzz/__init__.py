"""Property-based tests (hypothesis) of the parsers that read untrusted input.

Every test uses ``FUZZ`` so the suite stays fast: ~150 examples each and no per-example
deadline (the first examples pay for imports and the database). FUZZ_MAX_EXAMPLES=5000 runs
a longer campaign locally.
"""
