"""urbangrid performance benchmarks (run with ``make bench`` / ``make bench-quick``)."""
