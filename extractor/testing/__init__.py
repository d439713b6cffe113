"""Test and benchmark tooling (a fake OpenAI-compatible server); not imported by the product."""
