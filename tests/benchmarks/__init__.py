"""Speed and memory benchmarks: ``make bench`` runs them; pytest does not collect them."""
