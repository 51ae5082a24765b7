"""Dataset registry, downloads, extraction, the embedded ``digits`` dataset and the events store."""
