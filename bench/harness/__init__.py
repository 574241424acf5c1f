"""What the benchmarks share: processes, the seed, a level's measurement, the report."""
