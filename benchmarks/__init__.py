"""Benchmarks of the extraction pipeline against the fake OpenAI-compatible server."""
