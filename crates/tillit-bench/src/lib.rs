//! Helpers for the scripts in `bench/`: see `src/bin/`.
